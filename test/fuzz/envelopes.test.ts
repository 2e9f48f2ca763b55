/**
 * Fuzz: hostile records planted straight in the backend under a session id (what an attacker with
 * write access to Redis or PostgreSQL can do), then touched through every face of the stack.
 *
 * - arbitrary bytes, byte strings with a well-formed header (right version, algorithm and kid, so
 *   the AEAD itself must refuse), bit-flipped / truncated / extended real envelopes, and a real
 *   envelope of another session: every session operation fails `integrity` (or `unknown_key` for a
 *   kid the keyring lacks), never yields data, and never rewrites the record; admin operations
 *   (listing, cleanup, rekey, keyUsage) carry on around it;
 * - plain JSON values where an envelope belongs: `integrity` (plaintext is refused by default);
 * - hostile sealed STATES (arbitrary JSON sealed with the real key below the TTL layer, i.e. a record
 *   whose seal is genuine but whose shape is not ours): `integrity`, `owner_mismatch` or `expired`,
 *   never data unless the shape, owner and deadlines are all genuinely valid.
 *
 * Runs over MemoryStore always, and over Redis / PostgreSQL from test/fixtures when their service is up.
 */
import { unsafeLayersOf } from '../../src/secure-store.js';
import fc from 'fast-check';
import {
  type ErrorCode,
  Keyring,
  MemoryStore,
  type RecordStore,
  type SecureStore,
  type SessionState,
  secureStore,
} from 'sealed-session-store';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresFixture } from '../support/fixtures/postgres.js';
import { disposeRedisStore, redisFixture } from '../support/fixtures/redis.js';
import type { BackendFixture } from '../support/fixtures/types.js';
import { refused, runs, typed } from './typed.js';

const T0 = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;
const OWNER = { subject: 'fuzz-owner' };
const INTEGRITY: ErrorCode[] = ['integrity', 'unknown_key'];

interface Stack {
  backend: RecordStore;
  sec: SecureStore;
  keyring: Keyring;
  clock: { t: number };
}

async function stackOver(fixture: BackendFixture): Promise<Stack> {
  const clock = { t: T0 };
  const now = () => clock.t;
  const backend = await fixture.create({ now });
  const keyring = Keyring.generate({ now });
  return { backend, keyring, clock, sec: secureStore(backend, { keyring, namespace: 'fuzz', now }) };
}

/** Every way a client or an admin can touch `id`; the record itself must come out unchanged. */
async function touchEverything(s: Stack, id: string, allowed: readonly ErrorCode[]): Promise<void> {
  const before = await s.backend.loadRecord(id);
  const mine = s.sec.for(OWNER);
  await refused('load', () => mine.load(id), allowed);
  await refused('update', () => mine.update(id, { x: 1 }), allowed);
  await refused('updateTtl', () => mine.updateTtl(id, 60_000), allowed);
  await refused('save over it', () => mine.save(id, { x: 2 }), allowed);
  await refused('delete', () => mine.delete(id), allowed);
  await refused('regenerate', () => mine.regenerate(id), allowed);
  await refused('resume', () => s.sec.resume(s.sec.issueToken(id, OWNER), OWNER), allowed);
  await refused('inspect', () => s.sec.inspect(id), allowed);
  // Admin walks go around a record they cannot open.
  const owned = await typed('owner listActive', () => mine.listActive({ limit: 1000 }), []);
  expect(owned.ok && owned.value.ids.includes(id)).toBe(false);
  const rekey = await typed('rekey', () => s.sec.rekey(), []);
  expect(rekey.ok && rekey.value.resealed).toBe(0);
  await typed('keyUsage', () => s.sec.keyUsage(), []);
  await typed('listActive', () => s.sec.listActive(), []);
  const after = await s.backend.loadRecord(id);
  expect(after).toEqual(before);
  // Keep the admin walks above O(1) per case.
  await s.backend.deleteRecord(id);
}

const fixtures: Array<{ fixture: BackendFixture; scale: number; dispose?: (b: RecordStore) => Promise<void> }> = [
  {
    fixture: { name: 'memory', skipReason: async () => undefined, create: async ({ now }) => new MemoryStore({ now, maxEntries: 1_000 }), cleanup: async () => {} },
    scale: 1,
  },
  { fixture: redisFixture, scale: 0.25, dispose: disposeRedisStore },
  { fixture: postgresFixture, scale: 0.25 },
];

for (const { fixture, scale, dispose } of fixtures) {
  const skip = await fixture.skipReason();
  describe.skipIf(skip !== undefined)(`hostile records in ${fixture.name}`, () => {
    let s: Stack;
    const n = (k: number) => Math.max(5, Math.round(runs(k) * scale));

    afterAll(async () => {
      await s?.sec.close();
      if (s !== undefined) await dispose?.(s.backend);
      await fixture.cleanup();
    });

    it('arbitrary bytes as an envelope: integrity, never data, record untouched', { timeout: 120_000 }, async () => {
      s = await stackOver(fixture);
      const kid = s.keyring.primary('encrypt').kid;
      const kidBytes = Array.from(kid, (c) => c.charCodeAt(0));
      const wellFramed = fc
        .tuple(fc.constantFrom(0x01, 0x02, 0x03), fc.uint8Array({ minLength: 12, maxLength: 24 }), fc.uint8Array({ minLength: 16, maxLength: 200 }))
        .map(([alg, nonce, body]) => Uint8Array.from([0x01, alg, kidBytes.length, ...kidBytes, ...nonce, ...body]));
      const foreignKid = fc
        .tuple(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.uint8Array({ minLength: 28, maxLength: 80 }))
        .map(([k, rest]) => Uint8Array.from([0x01, 0x01, k.length, ...Array.from(k, (c) => c.charCodeAt(0)), ...rest]));
      let i = 0;
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), wellFramed, foreignKid), async (bytes) => {
          const id = `fz-bytes-${i++}`;
          await s.backend.saveRecord(id, bytes, { expiresAt: T0 + HOUR });
          await touchEverything(s, id, INTEGRITY);
        }),
        { numRuns: n(200) },
      );
    });

    it('a real envelope, mutated or moved to another id: integrity, never data', { timeout: 120_000 }, async () => {
      const mine = s.sec.for(OWNER);
      const donor = await mine.create({ secret: 'donor' });
      const rec = await s.backend.loadRecord(donor);
      const envelope = rec!.value as Uint8Array;
      expect(envelope).toBeInstanceOf(Uint8Array);
      const mutation = fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(envelope.length - 1), bit: fc.nat(7) }),
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(envelope.length - 1) }),
        fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
        fc.record({ kind: fc.constant('moved' as const) }),
      );
      let i = 0;
      await fc.assert(
        fc.asyncProperty(mutation, async (m) => {
          let bytes = envelope.slice();
          if (m.kind === 'flip') bytes[m.at]! ^= 1 << m.bit;
          else if (m.kind === 'truncate') bytes = bytes.slice(0, m.at);
          else if (m.kind === 'extend') bytes = Uint8Array.from([...bytes, ...m.extra]);
          const id = `fz-mut-${i++}`;
          await s.backend.saveRecord(id, bytes, { expiresAt: T0 + HOUR });
          await touchEverything(s, id, INTEGRITY);
        }),
        { numRuns: n(150) },
      );
      // The donor itself still opens: nothing above touched it.
      await expect(mine.load(donor)).resolves.toEqual({ secret: 'donor' });
    });

    it('a plain JSON state where an envelope belongs: integrity (plaintext is refused)', { timeout: 120_000 }, async () => {
      let i = 0;
      await fc.assert(
        fc.asyncProperty(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), async (plain) => {
          const id = `fz-plain-${i++}`;
          // Postgres jsonb refuses \u0000 in strings: such a plant is refused at the door, which is fine.
          const planted = await typed('plant', () => s.backend.saveRecord(id, JSON.parse(JSON.stringify(plain)) as SessionState, { expiresAt: T0 + HOUR }), ['invalid_input']);
          if (!planted.ok) return;
          await touchEverything(s, id, INTEGRITY);
        }),
        { numRuns: n(100) },
      );
    });

    it('genuinely sealed but hostile shapes: never data unless shape, owner and deadlines are all valid', { timeout: 120_000 }, async () => {
      const mine = s.sec.for(OWNER);
      const genuine = await mine.create({ v: 1 });
      const { meta } = await s.sec.inspect(genuine);
      const num = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(T0 + HOUR), fc.constant(T0 - 1));
      const field = <T>(good: T) => fc.oneof({ weight: 3, arbitrary: fc.constant(good) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }, { weight: 1, arbitrary: num });
      const metaArb = fc.record(
        {
          v: field(meta.v),
          createdAt: field(meta.createdAt),
          expiresAt: field(meta.expiresAt),
          absoluteAt: field(meta.absoluteAt),
          ttlMs: field(meta.ttlMs),
          owner: field(meta.owner),
          subject: field(meta.subject),
          ownerKid: field(meta.ownerKid),
        },
        { requiredKeys: [] },
      );
      const shape = fc.oneof(
        fc.record({ meta: metaArb, data: fc.oneof({ weight: 3, arbitrary: fc.constant({ ok: true }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }) }),
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      );
      let i = 0;
      await fc.assert(
        fc.asyncProperty(shape, async (value) => {
          const id = `fz-shape-${i++}`;
          // Sealed with the real key by the encrypting layer: only the shape is hostile.
          await unsafeLayersOf(s.sec).encrypted.saveRecord(id, JSON.parse(JSON.stringify(value)) as SessionState, { expiresAt: T0 + HOUR });
          const got = await typed('load', () => mine.load(id), ['integrity', 'owner_mismatch', 'expired', 'unknown_key']);
          await s.backend.deleteRecord(id);
          if (got.ok) {
            // Only a record indistinguishable from a genuine one may open.
            const m = (value as { meta: Record<string, unknown> }).meta;
            expect(m.v).toBe(meta.v);
            expect(m.owner).toBe(meta.owner);
            expect(m.ownerKid).toBe(meta.ownerKid);
            expect(Math.min(m.expiresAt as number, m.absoluteAt as number)).toBeGreaterThan(s.clock.t);
            expect(got.value).toEqual((value as { data: unknown }).data);
          }
        }),
        { numRuns: n(200) },
      );
    });
  });
}
