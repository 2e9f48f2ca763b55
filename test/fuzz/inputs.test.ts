/**
 * Fuzz: hostile session ids and states, through the secured stack and straight into each backend.
 *
 * - ids: any value, any string (control characters, non-ASCII, lone surrogates, 0..600 characters,
 *   Redis glob and SQL metacharacters): `invalid_input` or `not_found`, never an untyped throw; every
 *   valid id (visible ASCII, 1..512) round-trips exactly through every backend, and lists as itself;
 * - states: any value fast-check can build (class instances, typed arrays, sparse arrays, -0, NaN,
 *   boxed values, null-prototype objects, accessors, deep nesting, oversized strings): either
 *   accepted and loaded back exactly as JSON would carry it, or refused with `invalid_input` /
 *   `payload_too_large` before anything is written.
 */
import fc from 'fast-check';
import { Keyring, MemoryStore, type RecordStore, type SessionState, secureStore } from 'sealed-session-store';
import { MAX_ID_LENGTH } from 'sealed-session-store/kit';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresFixture } from '../support/fixtures/postgres.js';
import { disposeRedisStore, redisFixture } from '../support/fixtures/redis.js';
import type { BackendFixture } from '../support/fixtures/types.js';
import { refused, runs, typed } from './typed.js';

const T0 = Date.UTC(2030, 0, 1);
const now = () => T0;
const OWNER = { subject: 'input-owner' };

const isValidId = (id: unknown): id is string => typeof id === 'string' && id.length >= 1 && id.length <= MAX_ID_LENGTH && /^[\x21-\x7e]+$/.test(id);
const visible = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 });
const idArb = fc.oneof(
  fc.anything(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  visible,
  visible.map((s) => `~${s}`),
  fc.constantFrom('*', '?', '[a-z]', '\\', "'; DROP TABLE sessions; --", '$1', '%', '_', '{tag}', ' ', '', 'a\u0000b'),
  fc.integer({ min: MAX_ID_LENGTH - 1, max: MAX_ID_LENGTH + 2 }).map((n) => 'x'.repeat(n)),
);

const memory: BackendFixture = {
  name: 'memory',
  skipReason: async () => undefined,
  create: async (ctx) => new MemoryStore({ now: ctx.now, maxEntries: 10_000 }),
  cleanup: async () => {},
};

for (const [fixture, scale, dispose] of [
  [memory, 1, undefined],
  [redisFixture, 0.3, disposeRedisStore],
  [postgresFixture, 0.3, undefined],
] as const) {
  const skip = await fixture.skipReason();
  describe.skipIf(skip !== undefined)(`hostile ids and states over ${fixture.name}`, () => {
    let backend: RecordStore;
    const n = (k: number) => Math.max(10, Math.round(runs(k) * scale));
    afterAll(async () => {
      if (backend !== undefined) await dispose?.(backend);
      await fixture.cleanup();
    });

    it('ids: invalid_input or not_found through every face; valid ids round-trip exactly', { timeout: 120_000 }, async () => {
      backend = await fixture.create({ now });
      const sec = secureStore(backend, { keyring: Keyring.generate({ now }), namespace: 'fuzz-ids', now });
      const mine = sec.for(OWNER);
      await fc.assert(
        fc.asyncProperty(idArb, async (id) => {
          const codes = ['invalid_input', 'not_found'] as const;
          const idStr = id as string;
          await refused('scoped load', () => mine.load(idStr), codes);
          await refused('scoped update', () => mine.update(idStr, { a: 1 }), codes);
          await refused('scoped updateTtl', () => mine.updateTtl(idStr, 1000), codes);
          await refused('regenerate', () => mine.regenerate(idStr), codes);
          await refused('inspect', () => sec.inspect(idStr), codes);
          await refused('backend load', () => backend.load(idStr), codes);
          await typed('scoped delete', () => mine.delete(idStr), ['invalid_input']);
          await typed('issueToken', () => sec.issueToken(idStr, OWNER), ['invalid_input']);
          const saved = await typed('backend saveRecord', () => backend.saveRecord(idStr, { id: idStr }, { expiresAt: T0 + 60_000 }), ['invalid_input']);
          expect(saved.ok).toBe(isValidId(id));
          if (saved.ok) {
            expect((await backend.loadRecord(idStr))?.value).toEqual({ id: idStr });
            await expect(backend.deleteRecord(idStr)).resolves.toBe(true);
          }
          const created = await typed('scoped save', () => mine.save(idStr, { a: 1 }), ['invalid_input']);
          expect(created.ok).toBe(isValidId(id) && !idStr.startsWith('~'));
          if (created.ok) {
            await expect(mine.load(idStr)).resolves.toEqual({ a: 1 });
            await mine.delete(idStr);
          }
        }),
        { numRuns: n(400) },
      );
    });

    it('ids with glob, SQL and escape characters list as themselves, and only themselves', { timeout: 60_000 }, async () => {
      const ids = ['*', '?', '[', ']', '[ab]', '\\', '\\*', "'", '"', '%', '_', ';--', '$1', '{x}', 'a*', 'a?'];
      const prefixed = ids.map((id) => `g${id}`);
      for (const id of prefixed) await backend.saveRecord(id, { id }, { expiresAt: T0 + 60_000 });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await backend.listActive(cursor === undefined ? { limit: 3 } : { limit: 3, cursor });
        seen.push(...page.ids);
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(seen.filter((id) => id.startsWith('g')).sort()).toEqual([...prefixed].sort());
      for (const id of prefixed) expect((await backend.loadRecord(id))?.value).toEqual({ id });
      for (const id of prefixed) await backend.deleteRecord(id);
    });

    it('states: accepted exactly as JSON carries them, or refused before anything is written', { timeout: 120_000 }, async () => {
      const sec = secureStore(backend, { keyring: Keyring.generate({ now }), namespace: 'fuzz-states', now, encryption: { maxPlaintextBytes: 4096 } });
      const mine = sec.for(OWNER);
      const id = await mine.create({ base: true });
      const hostile = fc.oneof(
        fc.anything({ withBoxedValues: true, withMap: true, withSet: true, withObjectString: true, withNullPrototype: true, withBigInt: true, withDate: true, withTypedArray: true, withSparseArray: true, maxDepth: 3 }),
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
        fc.constantFrom<unknown>(
          deep(70),
          { big: 'x'.repeat(5000) },
          { neg: -0 },
          { nan: Number.NaN },
          { inf: Number.POSITIVE_INFINITY },
          { und: undefined },
          { f: () => 1 },
          { s: Symbol('s') },
          Object.defineProperty({}, 'getter', { get: () => 1, enumerable: true }),
          Object.assign(Object.create(null) as object, { __proto__: { polluted: true } }),
          JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as unknown,
          { arr: [1, , 3] }, // eslint-disable-line no-sparse-arrays
          { s: '\ud800' },
          new Date(0),
          [],
          null,
        ),
      );
      await fc.assert(
        fc.asyncProperty(hostile, async (state) => {
          const before = await backend.loadRecord(id);
          const codes = ['invalid_input', 'payload_too_large'] as const;
          const asJson = jsonImage(state);
          // Postgres jsonb also refuses \u0000 (invalid_input): allowed, but only there.
          const r = await typed('save', () => mine.save(id, state as SessionState), codes);
          if (r.ok) {
            expect(asJson).toBeDefined();
            await expect(mine.load(id)).resolves.toEqual(asJson);
          } else {
            expect(await backend.loadRecord(id)).toEqual(before);
          }
          const beforeUpdate = await backend.loadRecord(id);
          const u = await typed('update', () => mine.update(id, state as SessionState), codes);
          if (!u.ok) expect(await backend.loadRecord(id)).toEqual(beforeUpdate);
          await typed('create', () => mine.create(state as SessionState), codes);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }),
        { numRuns: n(400) },
      );
      await sec.close();
    });
  });
}

function deep(levels: number): unknown {
  let v: unknown = { leaf: 1 };
  for (let i = 0; i < levels; i++) v = { v };
  return v;
}

/** What JSON would carry of `state`, or undefined when JSON cannot carry it faithfully. */
function jsonImage(state: unknown): unknown {
  try {
    const text = JSON.stringify(state);
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
