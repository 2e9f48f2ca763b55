/**
 * Model-based test: random command sequences (create, save, load, delete, update, updateTtl,
 * resume, cleanupExpired, listActive, clock advance, key rotation, rekey, revokeOwner) run against
 * `secureStore()` over each backend and against the plain Map model in ./model.ts; every answer must
 * match. MemoryStore always; Redis, PostgreSQL and PGlite through test/fixtures when present (the
 * service-backed ones skip without their service, or fail under REQUIRE_SERVICES=1).
 *
 * Bounded by default (a few seconds); SSS_TEST_LONG=1 runs 20x as many sequences.
 */
import fc from 'fast-check';
import { MemoryStore, type RecordStore } from 'sealed-session-store';
import { afterAll, describe, it } from 'vitest';
import { pgliteFixture } from '../support/fixtures/pglite.js';
import { postgresFixture } from '../support/fixtures/postgres.js';
import { disposeRedisStore, redisFixture } from '../support/fixtures/redis.js';
import type { BackendFixture } from '../support/fixtures/types.js';
import { LONG, T0, commandsArb, runs, setup } from './model.js';

interface Target {
  fixture: BackendFixture;
  numRuns: number;
  maxCommands: number;
  dispose?: (store: RecordStore) => Promise<void>;
}

/** A small MemoryStore per model run. */
const memory: BackendFixture = {
  name: 'memory',
  skipReason: async () => undefined,
  create: async ({ now }) => new MemoryStore({ now, maxEntries: 1_000 }),
  cleanup: async () => {},
};

const targets: Target[] = [
  { fixture: memory, numRuns: runs(150), maxCommands: 40 },
  { fixture: redisFixture, numRuns: runs(25), maxCommands: 30, dispose: disposeRedisStore },
  { fixture: postgresFixture, numRuns: runs(25), maxCommands: 30 },
  { fixture: pgliteFixture, numRuns: runs(8), maxCommands: 30 },
];

for (const target of targets) {
  const { fixture } = target;
  const skip = await fixture.skipReason();

  describe.skipIf(skip !== undefined)(`secureStore over ${fixture.name} behaves like the model`, () => {
    afterAll(() => fixture.cleanup());

    for (const sliding of [false, true]) {
      it(`${sliding ? 'with' : 'without'} sliding renewal`, { timeout: LONG ? 1_800_000 : 90_000 }, async () => {
        await fc.assert(
          fc.asyncProperty(commandsArb(target.maxCommands), async (cmds) => {
            const clock = { t: T0 };
            const backend = await fixture.create({ now: () => clock.t });
            const s = setup(backend, clock, { sliding });
            try {
              await fc.asyncModelRun(() => s, cmds);
            } finally {
              await s.real.sec.close();
              await target.dispose?.(backend);
            }
          }),
          { numRuns: sliding ? Math.ceil(target.numRuns / 2) : target.numRuns },
        );
      });
    }
  });
}
