/**
 * The random pool and its snapshot hazard (SECURITY.md, "Randomness and snapshots"): pooled draws
 * are bytes already sitting in memory, so a snapshot taken after the first draw would replay them
 * in every clone; `disableRandomPool()` and `unpooledRandom` take every draw from the platform.
 * Each test gets a fresh copy of the module (the pool is process state).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

type RandomModule = typeof import('../../src/util/random.js');

async function freshModule(): Promise<RandomModule> {
  vi.resetModules();
  return import('../../src/util/random.js');
}

/** Counts the platform calls and keeps a copy of every byte the platform returned. */
function spyPlatform() {
  const returned: Uint8Array[] = [];
  const original = globalThis.crypto.getRandomValues.bind(globalThis.crypto);
  const spy = vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
    original(array as unknown as Uint8Array);
    const view = array as unknown as Uint8Array;
    returned.push(view.slice());
    return array;
  });
  return { spy, returned };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the random pool', () => {
  it('by default, the next small draws are already in memory after the first one (what a snapshot would replay)', async () => {
    const { secureRandom } = await freshModule();
    const { spy, returned } = spyPlatform();
    const first = secureRandom(12);
    const second = secureRandom(12);
    expect(spy).toHaveBeenCalledTimes(1);
    const pool = returned[0]!;
    expect(first).toEqual(pool.subarray(0, 12));
    expect(second).toEqual(pool.subarray(12, 24)); // drawn before the second call was made
  });

  it('disableRandomPool(): every later draw comes from the platform, and the pooled bytes are never handed out', async () => {
    const { secureRandom, disableRandomPool } = await freshModule();
    const { spy, returned } = spyPlatform();
    secureRandom(12); // fills the pool
    const pooled = returned[0]!;
    disableRandomPool();
    const draws = [secureRandom(12), secureRandom(24), secureRandom(16)];
    expect(spy).toHaveBeenCalledTimes(4);
    for (const [i, d] of draws.entries()) {
      expect(d).toEqual(returned[i + 1]);
      expect(Buffer.from(pooled).includes(Buffer.from(d))).toBe(false);
    }
  });

  it('unpooledRandom draws from the platform every time and checks its length', async () => {
    const { unpooledRandom } = await freshModule();
    const { spy } = spyPlatform();
    expect(unpooledRandom(12)).toHaveLength(12);
    expect(unpooledRandom(12)).toHaveLength(12);
    expect(unpooledRandom(0)).toHaveLength(0);
    expect(spy).toHaveBeenCalledTimes(2);
    expect(() => unpooledRandom(-1)).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('is reachable from the entries: disableRandomPool on the root, unpooledRandom on the kit', async () => {
    const root = await import('sealed-session-store');
    const kit = await import('sealed-session-store/kit');
    expect(typeof root.disableRandomPool).toBe('function');
    expect(typeof kit.unpooledRandom).toBe('function');
  });
});
