// The producer side of a test pipeline without the API: a Redis connection, the flow producer and the
// queue admin on the pipeline's prefix, closed together.
import { Redis } from 'ioredis';
import { ListingFlowProducer } from '../../src/queues/flows.js';
import { QueueAdmin } from '../../src/queues/queue-admin.js';
import type { TestPipeline } from './pipeline.js';

export interface ProducerSide {
  redis: Redis;
  producer: ListingFlowProducer;
  admin: QueueAdmin;
  close(): Promise<void>;
}

export function producerSide(t: Pick<TestPipeline, 'env' | 'config'>): ProducerSide {
  const redis = new Redis(t.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const producer = new ListingFlowProducer(redis, t.config);
  const admin = new QueueAdmin(redis, t.config);
  return {
    redis,
    producer,
    admin,
    async close() {
      await producer.close();
      await admin.close();
      redis.disconnect();
    },
  };
}
