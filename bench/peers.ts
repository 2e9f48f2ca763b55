/**
 * What a user would pick instead: iron-session's sealing (`@hapi/iron` seal+unseal with its
 * defaults: AES-256-CBC + HMAC-SHA256, PBKDF2-derived keys per seal) and keyv over `@keyv/redis`
 * (node-redis underneath). keyv has no encryption add-on on npm (`@keyv/encrypt` does not exist;
 * its add-ons are compression), so the keyv rows store the state in clear.
 */
import Iron from '@hapi/iron';
import { createKeyv } from '@keyv/redis';
import { type Ctx, budgetForSize } from './context.js';
import { measure } from './measure.js';
import { REDIS_PREFIX, REDIS_URL } from './services.js';

const IN_FLIGHT = 32;

export const KEYV_ENCRYPTION_NOTE =
  'keyv: no encryption add-on installs from npm (@keyv/encrypt is not published; keyv ships compression add-ons only), so keyv rows store states in clear';

export async function runPeers(ctx: Ctx): Promise<void> {
  const password = 'a-benchmark-password-of-at-least-32-characters';
  for (const size of ctx.sizes) {
    const state = ctx.states.get(size)!;
    const budget = budgetForSize(ctx.budget, size);
    ctx.results.push(
      await measure({ id: `peers/iron/${size}`, group: 'peers', label: 'iron seal+unseal (@hapi/iron defaults)', size }, budget, async () =>
        Iron.unseal(await Iron.seal(state, password, Iron.defaults), password, Iron.defaults),
      ),
    );
  }

  ctx.notes.push(KEYV_ENCRYPTION_NOTE);
  if (ctx.services.redis === undefined) {
    ctx.notes.push(`keyv + @keyv/redis rows skipped: ${ctx.services.redisSkip}`);
    return;
  }
  const keyv = createKeyv(REDIS_URL, { namespace: `${REDIS_PREFIX}keyv` });
  keyv.on('error', () => {});
  try {
    for (const size of ctx.sizes) {
      const state = ctx.states.get(size)!;
      const budget = budgetForSize(ctx.budget, size);
      const pair = async (key: string) => {
        await keyv.set(key, state, 3_600_000);
        return keyv.get(key);
      };
      const keys = Array.from({ length: IN_FLIGHT }, (_, i) => `${size}:${i}`);
      ctx.results.push(
        await measure(
          { id: `peers/keyv-redis/${size}/seq`, group: 'peers', label: 'keyv + @keyv/redis set+get (no encryption)', backend: 'redis', size, mode: 'seq' },
          budget,
          () => pair(`${size}:seq`),
        ),
        await measure(
          { id: `peers/keyv-redis/${size}/32`, group: 'peers', label: 'keyv + @keyv/redis set+get (no encryption)', backend: 'redis', size, mode: '32', ops: IN_FLIGHT },
          budget,
          () => Promise.all(keys.map(pair)),
        ),
      );
    }
    await keyv.clear();
  } finally {
    await keyv.disconnect().catch(() => {});
  }
}
