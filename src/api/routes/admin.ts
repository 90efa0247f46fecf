// The queue admin UI at /admin/queues, behind HTTP Basic authentication (ADMIN_USER / ADMIN_PASSWORD).
// Without credentials configured the UI is off: an operator UI that can retry or delete jobs must never
// be open by default.
import { timingSafeEqual } from 'node:crypto';
import basicAuth from '@fastify/basic-auth';
import type { FastifyInstance } from 'fastify';
import { createQueueBoard } from '../../queues/admin-board.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../errors.js';

export const ADMIN_PATH = '/admin/queues';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Compare equal-length buffers only; the length check leaks nothing an attacker does not know.
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function adminRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { ADMIN_USER: user, ADMIN_PASSWORD: password } = deps.config;
  if (!user || !password) {
    app.all(`${ADMIN_PATH}*`, { schema: { hide: true } }, async () => {
      throw new ApiError(404, 'The queue admin UI is disabled; set ADMIN_USER and ADMIN_PASSWORD to enable it.');
    });
    return;
  }
  const board = createQueueBoard(deps.redis, deps.config, ADMIN_PATH);
  app.addHook('onClose', async () => board.close());
  await app.register(basicAuth, {
    validate: async (u, p) => {
      // Evaluate both comparisons so a wrong user name takes as long as a wrong password.
      const ok = [same(u, user), same(p, password)];
      if (!ok.every(Boolean)) throw new ApiError(401, 'Wrong admin user name or password.');
    },
    authenticate: { realm: 'listing-pipeline admin' },
  });
  app.addHook('onRequest', app.basicAuth);
  await app.register(board.plugin, { prefix: ADMIN_PATH });
}
