/**
 * The command model behind test/model/*.test.ts: a plain Map that says what `secureStore()` should
 * answer, command by command, and the fast-check commands that drive both and compare.
 *
 * The model restates the documented behaviour of the stack in the simplest terms: ownership first
 * (`owner_mismatch`), then the sealed deadlines against the injected clock (`expired`), then the
 * subject's revocation mark; `save` over a live session keeps its creation time and absolute
 * deadline; every expiry is clamped to the absolute deadline; sliding renewal (when on) renews
 * only with less than half the idle window left. Key rotation and re-keying must change nothing
 * a caller can see.
 */
import fc from 'fast-check';
import {
  Keyring,
  type Owner,
  type RecordStore,
  type SecureStore,
  type SessionState,
  type ScopedSessionStore,
  SessionStoreError,
  secureStore,
} from 'sealed-session-store';
import { expect } from 'vitest';

export const T0 = Date.UTC(2030, 0, 1);
export const IDLE_MS = 10 * 60_000;
export const ABSOLUTE_MS = 60 * 60_000;

/** Owners 0 and 1 share a subject (so one revocation hits both) but differ by client. */
export const OWNERS: Owner[] = [{ subject: 'alice', clientId: 'web' }, { subject: 'alice', clientId: 'cli' }, { subject: 'bob' }];
/** Ids a client could pick for `save` (ids otherwise come from `create`). */
const CLIENT_IDS = ['client-chosen-1', 'client-chosen-2'];

interface MSession {
  owner: number;
  /** Index of the `hash` key the session's owner binding is under. */
  hashKey: number;
  data: SessionState;
  createdAt: number;
  expiresAt: number;
  absoluteAt: number;
  ttlMs: number;
}

export interface Model {
  now: number;
  sliding: boolean;
  sessions: Map<string, MSession>;
  /** Every id that ever existed (and the client-chosen ones), for commands to pick from. */
  ids: string[];
  /** Revocation marks by `subject#hashKeyIndex`. */
  marks: Map<string, { nb: number; expiresAt: number }>;
  hashKeys: number;
}

export interface Real {
  sec: SecureStore;
  scoped: ScopedSessionStore[];
  clock: { t: number };
}

type Outcome = { ok: true; value?: unknown } | { ok: false; code: string };

const ok = (value?: unknown): Outcome => (value === undefined ? { ok: true } : { ok: true, value });
const fail = (code: string): Outcome => ({ ok: false, code });

/** Settles a real call; anything but a typed error fails the property. */
async function settle(p: Promise<unknown> | (() => unknown)): Promise<Outcome> {
  try {
    const value = typeof p === 'function' ? p() : await p;
    return ok(value);
  } catch (err) {
    if (err instanceof SessionStoreError) return fail(err.code);
    throw err;
  }
}

const clone = (s: SessionState): SessionState => JSON.parse(JSON.stringify(s)) as SessionState;

// ------------------------------------------------------------------------------- the model

function revoked(m: Model, s: MSession): boolean {
  const mark = m.marks.get(`${OWNERS[s.owner]!.subject}#${s.hashKey}`);
  return mark !== undefined && mark.expiresAt > m.now && mark.nb > s.createdAt;
}

/** What an owner-scoped read or write of `id` meets before it can act. */
function access(m: Model, owner: number, id: string): { s: MSession } | Outcome {
  const s = m.sessions.get(id);
  if (s === undefined) return fail('not_found');
  if (s.owner !== owner) return fail('owner_mismatch');
  if (s.expiresAt <= m.now) return fail('expired');
  if (revoked(m, s)) return fail('expired');
  return { s };
}

function renewed(m: Model, s: MSession): number {
  if (m.sliding && s.expiresAt - m.now < s.ttlMs / 2 && s.expiresAt < s.absoluteAt) return Math.min(m.now + s.ttlMs, s.absoluteAt);
  return s.expiresAt;
}

function fresh(m: Model, owner: number, data: SessionState, ttl: number): MSession {
  const absoluteAt = m.now + ABSOLUTE_MS;
  return { owner, hashKey: m.hashKeys - 1, data: clone(data), createdAt: m.now, expiresAt: Math.min(m.now + ttl, absoluteAt), absoluteAt, ttlMs: ttl };
}

function pick(m: Model, i: number): string | undefined {
  return m.ids.length === 0 ? undefined : m.ids[i % m.ids.length];
}

function remember(m: Model, id: string): void {
  if (!m.ids.includes(id)) m.ids.push(id);
}

async function allPages(list: (cursor: string | undefined) => Promise<{ ids: string[]; cursor?: string }>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100_000; pages++) {
    const page = await list(cursor);
    ids.push(...page.ids);
    cursor = page.cursor;
    if (cursor === undefined) return ids;
  }
  throw new Error('listActive never ended');
}

// ------------------------------------------------------------------------------- commands

type Cmd = fc.AsyncCommand<Model, Real>;

function cmd(name: string, run: (m: Model, r: Real) => Promise<void>, check: (m: Model) => boolean = () => true): Cmd {
  return { check, run, toString: () => name };
}

const keyArb = fc.constantFrom('a', 'b', 'c', '__proto__', 'constructor', 'ü');
const valueArb = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
export const stateArb: fc.Arbitrary<SessionState> = fc
  .uniqueArray(fc.tuple(keyArb, valueArb), { selector: ([k]) => k, maxLength: 4 })
  .map((entries) => Object.fromEntries(entries) as SessionState);
const ttlArb = fc.constantFrom(1, 1_000, 60_000, IDLE_MS / 2, IDLE_MS, 2 * ABSOLUTE_MS);
const ownerArb = fc.nat({ max: OWNERS.length - 1 });
const idxArb = fc.nat({ max: 1_000 });

const createCmd = fc.record({ owner: ownerArb, state: stateArb, ttl: ttlArb }).map(({ owner, state, ttl }) =>
  cmd(`create(o${owner}, ${JSON.stringify(state)}, ${ttl})`, async (m, r) => {
    const id = await r.scoped[owner]!.create(state, { ttlMs: ttl });
    expect(m.sessions.has(id)).toBe(false);
    m.sessions.set(id, fresh(m, owner, state, ttl));
    remember(m, id);
  }),
);

const saveCmd = fc
  .record({ owner: ownerArb, idx: idxArb, client: fc.option(fc.constantFrom(...CLIENT_IDS), { freq: 4 }), state: stateArb, ttl: ttlArb })
  .map(({ owner, idx, client, state, ttl }) =>
    cmd(`save(o${owner}, ${client ?? `#${idx}`}, ${JSON.stringify(state)}, ${ttl})`, async (m, r) => {
      const id = client ?? pick(m, idx);
      if (id === undefined) return;
      const got = await settle(r.scoped[owner]!.save(id, state, { ttlMs: ttl }));
      const cur = m.sessions.get(id);
      let want: Outcome;
      if (cur !== undefined && cur.owner !== owner) {
        want = fail('owner_mismatch');
      } else if (cur !== undefined && cur.expiresAt > m.now) {
        // A live session keeps its creation time, absolute deadline and owner binding.
        m.sessions.set(id, { ...cur, data: clone(state), ttlMs: ttl, expiresAt: Math.min(m.now + ttl, cur.absoluteAt) });
        want = ok();
      } else {
        m.sessions.set(id, fresh(m, owner, state, ttl));
        remember(m, id);
        want = ok();
      }
      expect(got).toEqual(want);
    }),
  );

const loadCmd = fc.record({ owner: ownerArb, idx: idxArb }).map(({ owner, idx }) =>
  cmd(`load(o${owner}, #${idx})`, async (m, r) => {
    const id = pick(m, idx);
    if (id === undefined) return;
    const got = await settle(r.scoped[owner]!.load(id));
    const a = access(m, owner, id);
    if (!('s' in a)) return void expect(got).toEqual(a);
    expect(got).toEqual(ok(a.s.data));
    a.s.expiresAt = renewed(m, a.s);
  }),
);

const deleteCmd = fc.record({ owner: ownerArb, idx: idxArb }).map(({ owner, idx }) =>
  cmd(`delete(o${owner}, #${idx})`, async (m, r) => {
    const id = pick(m, idx);
    if (id === undefined) return;
    const got = await settle(r.scoped[owner]!.delete(id));
    const cur = m.sessions.get(id);
    // Idempotent for a missing id; an existing one (even expired) only by its owner.
    if (cur !== undefined && cur.owner !== owner) return void expect(got).toEqual(fail('owner_mismatch'));
    m.sessions.delete(id);
    expect(got).toEqual(ok());
  }),
);

const updateCmd = fc.record({ owner: ownerArb, idx: idxArb, partial: stateArb }).map(({ owner, idx, partial }) =>
  cmd(`update(o${owner}, #${idx}, ${JSON.stringify(partial)})`, async (m, r) => {
    const id = pick(m, idx);
    if (id === undefined) return;
    const got = await settle(r.scoped[owner]!.update(id, partial));
    const a = access(m, owner, id);
    if (!('s' in a)) return void expect(got).toEqual(a);
    expect(got).toEqual(ok());
    a.s.expiresAt = renewed(m, a.s);
    a.s.data = { ...a.s.data, ...clone(partial) };
  }),
);

const updateTtlCmd = fc.record({ owner: ownerArb, idx: idxArb, ttl: ttlArb }).map(({ owner, idx, ttl }) =>
  cmd(`updateTtl(o${owner}, #${idx}, ${ttl})`, async (m, r) => {
    const id = pick(m, idx);
    if (id === undefined) return;
    const got = await settle(r.scoped[owner]!.updateTtl(id, ttl));
    const a = access(m, owner, id);
    if (!('s' in a)) return void expect(got).toEqual(a);
    expect(got).toEqual(ok());
    a.s.ttlMs = ttl;
    a.s.expiresAt = Math.min(m.now + ttl, a.s.absoluteAt);
  }),
);

const resumeCmd = fc.record({ issuer: ownerArb, verifier: ownerArb, idx: idxArb }).map(({ issuer, verifier, idx }) =>
  cmd(`resume(token of o${issuer} for #${idx}, by o${verifier})`, async (m, r) => {
    const id = pick(m, idx);
    if (id === undefined) return;
    const token = r.sec.issueToken(id, OWNERS[issuer]!);
    const got = await settle(r.sec.resume(token, OWNERS[verifier]!));
    if (issuer !== verifier) return void expect(got).toEqual(fail('owner_mismatch'));
    const a = access(m, verifier, id);
    if (!('s' in a)) return void expect(got).toEqual(a);
    expect(got).toEqual(ok({ sessionId: id, state: a.s.data }));
    a.s.expiresAt = renewed(m, a.s);
  }),
);

const cleanupCmd = fc.constant(
  cmd('cleanupExpired()', async (m, r) => {
    const got = await settle(r.sec.cleanupExpired());
    let count = 0;
    for (const [id, s] of m.sessions) {
      if (s.expiresAt <= m.now) {
        m.sessions.delete(id);
        count++;
      }
    }
    for (const [key, mark] of m.marks) {
      if (mark.expiresAt <= m.now) {
        m.marks.delete(key);
        count++;
      }
    }
    expect(got).toEqual(ok(count));
  }),
);

const listCmd = fc.record({ owner: fc.option(ownerArb), limit: fc.constantFrom(1, 2, 3, 100) }).map(({ owner, limit }) =>
  cmd(`listActive(${owner === null ? 'admin' : `o${owner}`}, limit ${limit})`, async (m, r) => {
    const face = owner === null ? r.sec : r.scoped[owner]!;
    const ids = await allPages((cursor) => face.listActive(cursor === undefined ? { limit } : { limit, cursor }));
    // Listing follows the sealed deadlines (revoked sessions were deleted by revokeOwner).
    const want = [...m.sessions].filter(([, s]) => s.expiresAt > m.now && (owner === null || s.owner === owner)).map(([id]) => id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(want.sort());
  }),
);

const advanceCmd = fc.constantFrom(1, 999, 1_000, 30_000, IDLE_MS / 2, IDLE_MS, ABSOLUTE_MS).map((ms) =>
  cmd(`advance(${ms})`, async (m, r) => {
    m.now += ms;
    r.clock.t += ms;
  }),
);

const rotateCmd = fc.constantFrom('encrypt' as const, 'sign' as const, 'hash' as const).map((purpose) =>
  cmd(`rotateKey(${purpose})`, async (m, r) => {
    await r.sec.rotateKey(purpose);
    if (purpose === 'hash') m.hashKeys++;
  }),
);

const rekeyCmd = fc.constant(
  cmd('rekey()', async (_m, r) => {
    const result = await r.sec.rekey({ batchSize: 3 });
    expect(result.done).toBe(true);
    expect(result.failed).toBe(0);
    expect(result.resealed + result.current + result.skipped).toBe(result.scanned);
  }),
);

const revokeCmd = fc.constantFrom('alice', 'bob').map((subject) =>
  cmd(`revokeOwner(${subject})`, async (m, r) => {
    await r.sec.revokeOwner(subject);
    // One mark per usable hash key, so sessions bound under an older key are covered too.
    for (let k = 0; k < m.hashKeys; k++) {
      const prev = m.marks.get(`${subject}#${k}`);
      m.marks.set(`${subject}#${k}`, { nb: Math.max(prev?.nb ?? 0, m.now), expiresAt: m.now + ABSOLUTE_MS });
    }
    // Then the subject's sessions created before now are deleted (expired ones too): they read `not_found`.
    for (const [id, s] of [...m.sessions]) {
      if (OWNERS[s.owner]!.subject === subject && s.createdAt < m.now) m.sessions.delete(id);
    }
  }),
);

/** Every command, weighted towards the ones that change sessions. */
export const commandsArb = (maxCommands: number): fc.Arbitrary<Iterable<Cmd>> =>
  fc.commands(
    [
      createCmd,
      createCmd,
      saveCmd,
      loadCmd,
      loadCmd,
      deleteCmd,
      updateCmd,
      updateCmd,
      updateTtlCmd,
      resumeCmd,
      cleanupCmd,
      listCmd,
      advanceCmd,
      advanceCmd,
      rotateCmd,
      rekeyCmd,
      revokeCmd,
    ],
    { maxCommands, size: 'medium' },
  );

/** A fresh model and a fresh secured stack over `backend`, both at `clock.t` (the backend reads the same clock). */
export function setup(backend: RecordStore, clock: { t: number }, options: { sliding: boolean }): { model: Model; real: Real } {
  const now = () => clock.t;
  const sec = secureStore(backend, {
    keyring: Keyring.generate({ now }),
    namespace: 'model',
    now,
    ttl: { idleMs: IDLE_MS, absoluteMs: ABSOLUTE_MS, sliding: options.sliding },
  });
  return {
    model: { now: clock.t, sliding: options.sliding, sessions: new Map(), ids: [], marks: new Map(), hashKeys: 1 },
    real: { sec, scoped: OWNERS.map((o) => sec.for(o)), clock },
  };
}

/** Long variants (SSS_TEST_LONG=1) run this many times more. */
export const LONG = process.env.SSS_TEST_LONG === '1';
export const runs = (n: number): number => (LONG ? n * 20 : n);
