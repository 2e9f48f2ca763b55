/**
 * Interleavings: fast-check's scheduler decides when each backend call of several concurrent
 * commands starts and when its answer arrives, over one MemoryStore shared by two secured stacks
 * (two "processes", each with its own per-id queue, so their compare-and-swap loops really race).
 * Whatever the order, the outcome must be linearizable: some sequential order of the commands
 * explains every answer and the final state. No lost update, no resurrection after a delete, no
 * torn record, nothing but typed errors.
 *
 * The scheduler cannot reorder network I/O; this covers the layers' logic, and the fault tests
 * (test/faults/) cover the network.
 */
import fc from 'fast-check';
import {
  type DeleteRecordOptions,
  Keyring,
  type ListOptions,
  MemoryStore,
  type RecordStore,
  type SaveRecordOptions,
  type SecureStore,
  type SessionState,
  SessionStoreError,
  type StoredRecord,
  secureStore,
} from 'sealed-session-store';
import { describe, expect, it } from 'vitest';
import { LONG, T0, runs } from './model.js';

/** Delegates to `inner`; while `gate` is set, every record-level call waits for the scheduler to start it and to answer it. */
class ScheduledStore implements RecordStore {
  gate: fc.Scheduler | undefined;
  constructor(readonly inner: MemoryStore) {}

  private async through<T>(label: string, call: () => Promise<T>): Promise<T> {
    const s = this.gate;
    if (s === undefined) return call();
    await s.schedule(Promise.resolve(), `start ${label}`);
    const settled = await call().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await s.schedule(Promise.resolve(), `answer ${label}`);
    if ('error' in settled) throw settled.error;
    return settled.value;
  }

  loadRecord(id: string): Promise<StoredRecord | undefined> {
    return this.through(`loadRecord(${id})`, () => this.inner.loadRecord(id));
  }
  saveRecord(id: string, value: StoredRecord['value'], options: SaveRecordOptions): Promise<string> {
    return this.through(`saveRecord(${id})`, () => this.inner.saveRecord(id, value, options));
  }
  deleteRecord(id: string, options?: DeleteRecordOptions): Promise<boolean> {
    return this.through(`deleteRecord(${id})`, () => this.inner.deleteRecord(id, options));
  }
  listActive(options?: ListOptions) {
    return this.inner.listActive(options);
  }
  cleanupExpired() {
    return this.inner.cleanupExpired();
  }
  save(...args: Parameters<MemoryStore['save']>) {
    return this.inner.save(...args);
  }
  load(id: string) {
    return this.inner.load(id);
  }
  delete(id: string) {
    return this.inner.delete(id);
  }
  update(id: string, partial: SessionState) {
    return this.inner.update(id, partial);
  }
  updateTtl(id: string, ttlMs: number) {
    return this.inner.updateTtl(id, ttlMs);
  }
  close() {
    return this.inner.close();
  }
}

type Op =
  | { kind: 'update'; via: 0 | 1; value: number }
  | { kind: 'load'; via: 0 | 1 }
  | { kind: 'delete'; via: 0 | 1 }
  | { kind: 'updateTtl'; via: 0 | 1 }
  | { kind: 'save'; via: 0 | 1; value: number }
  | { kind: 'revoke'; via: 0 | 1 };

const via = fc.constantFrom<0 | 1>(0, 1);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('update' as const), via, value: fc.nat(99) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('load' as const), via }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), via }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('updateTtl' as const), via }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('save' as const), via, value: fc.nat(99) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), via }) },
);

type Result = { ok: true; state?: SessionState } | { ok: false; code: string };

interface Spec {
  exists: boolean;
  revoked: boolean;
  data: SessionState;
}

const OWNER = { subject: 'sched' };
const ID_FIELD = (i: number) => `f${i}`;

/** The sequential specification of one op: its answer and the state after it. */
function step(spec: Spec, op: Op, i: number): { result: Result; next: Spec } {
  const live: Result | undefined = !spec.exists ? { ok: false, code: 'not_found' } : spec.revoked ? { ok: false, code: 'expired' } : undefined;
  switch (op.kind) {
    case 'update':
      return live !== undefined ? { result: live, next: spec } : { result: { ok: true }, next: { ...spec, data: { ...spec.data, [ID_FIELD(i)]: op.value } } };
    case 'load':
      return live !== undefined ? { result: live, next: spec } : { result: { ok: true, state: spec.data }, next: spec };
    case 'updateTtl':
      return { result: live ?? { ok: true }, next: spec };
    case 'delete':
      return { result: { ok: true }, next: { exists: false, revoked: false, data: {} } };
    case 'save':
      // Re-saving a live (even revoked) session keeps its creation time; a new one is born after the revocation.
      return { result: { ok: true }, next: spec.exists ? { ...spec, data: { saved: op.value } } : { exists: true, revoked: false, data: { saved: op.value } } };
    case 'revoke':
      return { result: { ok: true }, next: spec.exists ? { ...spec, revoked: true } : spec };
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Some order of the ops explains every answer and the final state (ops that lost with `conflict` wrote
 * nothing). A revocation is two steps: its marks (the session reads `expired`), then, later, the
 * deletion of the sessions they revoked (it reads `not_found`); other ops may fall in between.
 */
function linearizable(ops: Op[], results: Result[], final: Result): boolean {
  const steps = ops.flatMap((op, i) => (op.kind === 'revoke' ? [{ i, purge: false }, { i, purge: true }] : [{ i, purge: false }]));
  const used = new Array<boolean>(steps.length).fill(false);
  const search = (spec: Spec, left: number): boolean => {
    if (left === 0) {
      const want: Result = !spec.exists ? { ok: false, code: 'not_found' } : spec.revoked ? { ok: false, code: 'expired' } : { ok: true, state: spec.data };
      return same(want, final);
    }
    for (let k = 0; k < steps.length; k++) {
      const s = steps[k]!;
      // A revocation's deletion comes after its marks (the step just before it).
      if (used[k] || (s.purge && !used[k - 1])) continue;
      const r = results[s.i]!;
      let next = spec;
      if (s.purge) {
        if (r.ok && spec.exists && spec.revoked) next = { exists: false, revoked: false, data: {} };
      } else if (r.ok || r.code !== 'conflict') {
        const st = step(spec, ops[s.i]!, s.i);
        if (!same(st.result, r)) continue;
        next = st.next;
      }
      used[k] = true;
      if (search(next, left - 1)) return true;
      used[k] = false;
    }
    return false;
  };
  return search({ exists: true, revoked: false, data: { base: 0 } }, steps.length);
}

async function outcome(p: Promise<unknown>, isLoad: boolean): Promise<Result> {
  try {
    const value = await p;
    return isLoad ? { ok: true, state: value as SessionState } : { ok: true };
  } catch (err) {
    if (err instanceof SessionStoreError) return { ok: false, code: err.code };
    throw err;
  }
}

function run(sec: SecureStore, op: Op, i: number, id: string): Promise<Result> {
  const store = sec.for(OWNER);
  switch (op.kind) {
    case 'update':
      return outcome(store.update(id, { [ID_FIELD(i)]: op.value }), false);
    case 'load':
      return outcome(store.load(id), true);
    case 'updateTtl':
      return outcome(store.updateTtl(id, 60_000), false);
    case 'delete':
      return outcome(store.delete(id), false);
    case 'save':
      return outcome(store.save(id, { saved: op.value }), false);
    case 'revoke':
      return outcome(sec.revokeOwner(OWNER.subject), false);
  }
}

describe('concurrent commands over MemoryStore, in every order the scheduler picks', () => {
  it('are linearizable: no lost update, no resurrection, no torn record', { timeout: LONG ? 1_800_000 : 60_000 }, async () => {
    let conflicts = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(opArb, { minLength: 2, maxLength: 5 }), async (s, ops) => {
        let t = T0;
        const now = () => t;
        const backend = new ScheduledStore(new MemoryStore({ now, maxEntries: 100 }));
        const keyring = Keyring.generate({ now });
        // Two "processes"; revocation marks are not cached, so a revocation by one is seen by the other at once.
        const procs = [0, 1].map(() => secureStore(backend, { keyring, namespace: 'sched', now, revocationCacheMs: 0 }));
        const id = await procs[0]!.for(OWNER).create({ base: 0 });
        t += 1; // the session is older than any revocation below
        backend.gate = s;
        const pending = Promise.all(ops.map((op, i) => run(procs[op.via]!, op, i, id)));
        const results = await s.waitFor(pending);
        backend.gate = undefined;
        const final = await outcome(procs[0]!.for(OWNER).load(id), true);
        conflicts += results.filter((r) => !r.ok && r.code === 'conflict').length;
        if (!linearizable(ops, results, final)) {
          throw new Error(`not linearizable: ${JSON.stringify({ ops, results, final })}\n${s.report().map((r) => r.label).join(' | ')}`);
        }
        // Nothing half-written: the raw record opens (or is absent).
        const raw = await backend.inner.loadRecord(id);
        if (raw !== undefined) await expect(procs[1]!.inspect(id)).resolves.toBeDefined();
        await Promise.all(procs.map((p) => p.close()));
      }),
      { numRuns: runs(300) },
    );
    console.info(`[interleavings] ${conflicts} compare-and-swap give-ups (conflict) across the runs`);
  });
});
