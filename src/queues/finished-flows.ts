// Requeueing a listing whose flow already finished without settling it: its infer job failed for good
// before it could record why (a job that stalled too often fails without running its handler), or the
// worker lost its last status write. BullMQ keeps finished jobs (KEEP_COMPLETED_JOBS/KEEP_FAILED_JOBS),
// so re-adding the same ids would do nothing, and a kept completed child would even be attached to the
// new parent as already done. The finished jobs of such a flow are therefore removed before it is added
// again. A flow still in flight is left alone, so re-adding it stays a no-op.
import { Queue, type FlowJob } from 'bullmq';
import type { Redis } from 'ioredis';

const finished = (state: string): boolean => state === 'completed' || state === 'failed';

export class FinishedFlowCleaner {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {}

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  /** Where the flow's parent job stands: in Redis and not finished, finished (kept by retention), or gone. */
  async parentState(flow: FlowJob): Promise<'in-flight' | 'finished' | 'missing'> {
    const id = flow.opts?.jobId;
    if (!id) throw new Error(`A ${flow.queueName} flow without a job id has no state; build it with buildListingFlow.`);
    const state = await this.queue(flow.queueName).getJobState(id);
    return state === 'unknown' ? 'missing' : finished(state) ? 'finished' : 'in-flight';
  }

  /** Removes the flow's parent (with its children) and any kept children when the flow has finished. */
  async clear(flow: FlowJob): Promise<void> {
    const parent = this.queue(flow.queueName);
    const id = flow.opts?.jobId;
    if (!id) throw new Error(`A ${flow.queueName} flow without a job id cannot be requeued; build it with buildListingFlow.`);
    const state = await parent.getJobState(id);
    if (finished(state)) await parent.remove(id, { removeChildren: true });
    else if (state !== 'unknown') return;
    // Retention evicts per queue, so a child can outlive its finished parent; such a child would be
    // taken as done by the new parent.
    await Promise.all(
      (flow.children ?? []).map(async (child) => {
        const q = this.queue(child.queueName);
        const childId = child.opts?.jobId;
        if (childId && finished(await q.getJobState(childId))) await q.remove(childId);
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
