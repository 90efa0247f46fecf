// The queue admin UI (bull-board) as a Fastify plugin over the pool queues: counts, job details,
// retry / promote / clean. The API mounts it behind authentication (see src/api/routes/admin.ts).
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { POOL_QUEUES, QUEUES } from './registry.js';

export interface QueueBoard {
  plugin: ReturnType<FastifyAdapter['registerPlugin']>;
  close(): Promise<void>;
}

export function createQueueBoard(connection: Redis, config: Pick<Config, 'QUEUE_PREFIX'>, basePath: string): QueueBoard {
  const queues = [...POOL_QUEUES, QUEUES.schedule].map((name) => new Queue(name, { connection, prefix: config.QUEUE_PREFIX }));
  const adapter = new FastifyAdapter();
  adapter.setBasePath(basePath);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter, options: { uiConfig: { boardTitle: 'Listing pipeline' } } });
  return {
    plugin: adapter.registerPlugin(),
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
