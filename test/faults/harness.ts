/**
 * The mixed load and the ledger behind every fault test.
 *
 * Workers run updates, loads, creates and deletes through the full secured stack while the test
 * breaks the server. Each worker owns its own sessions (so no operation waits in another's per-id
 * queue, and its latency is the backend's alone) and writes one field per session with a counter
 * that only grows. The ledger keeps every attempt and how it ended, and afterwards checks:
 *
 * - every operation settled within its budget, with success or a typed `backend_unavailable`;
 * - every acknowledged update is there: a field's final value is that of its last acknowledged
 *   write or of a later write whose outcome was `unknown`, never older, never one reported `failed`;
 * - every acknowledged create still opens, every acknowledged delete stays deleted;
 * - no torn record: every record in the store opens (or is `not_found` / `expired`).
 */
import { BackendUnavailableError, type Owner, type SecureStore, SessionStoreError } from 'sealed-session-store';
import { expect } from 'vitest';

export const OWNER: Owner = { subject: 'fault-owner', clientId: 'fault-client' };

type End = 'ok' | 'failed' | 'unknown' | `other:${string}`;

interface OpRecord {
  kind: 'update' | 'load' | 'create' | 'delete';
  startedAt: number;
  ms: number;
  end: End;
}

export interface LoadReport {
  ops: number;
  ok: number;
  failed: number;
  unknown: number;
  other: Record<string, number>;
  maxMs: number;
  overBudget: OpRecord[];
  opsPerSecond: number;
}

function endOf(err: unknown): End {
  if (err instanceof BackendUnavailableError) return err.outcome;
  if (err instanceof SessionStoreError) return `other:${err.code}`;
  return `other:untyped ${(err as Error)?.name ?? typeof err}: ${(err as Error)?.message ?? String(err)}`;
}

export class Ledger {
  /** attempts[id][field] = outcome of the write of value n at index n (1-based). */
  private readonly attempts = new Map<string, Map<string, End[]>>();
  readonly ops: OpRecord[] = [];
  readonly created = new Set<string>();
  readonly deleted = new Set<string>();
  /** Deletes whose outcome was not acknowledged: they may have landed. */
  readonly maybeDeleted = new Set<string>();
  /** Successful operations' completion times, for the recovery figure. */
  readonly successes: number[] = [];

  nextWrite(id: string, field: string): number {
    let fields = this.attempts.get(id);
    if (fields === undefined) this.attempts.set(id, (fields = new Map()));
    let list = fields.get(field);
    if (list === undefined) fields.set(field, (list = []));
    list.push('unknown');
    return list.length;
  }

  settleWrite(id: string, field: string, n: number, end: End): void {
    this.attempts.get(id)!.get(field)![n - 1] = end;
  }

  async time<T>(kind: OpRecord['kind'], op: () => Promise<T>): Promise<{ end: End; value?: T }> {
    const startedAt = Date.now();
    let end: End;
    let value: T | undefined;
    try {
      value = await op();
      end = 'ok';
    } catch (err) {
      end = endOf(err);
    }
    const done = Date.now();
    this.ops.push({ kind, startedAt, ms: done - startedAt, end });
    if (end === 'ok') this.successes.push(done);
    return value === undefined ? { end } : { end, value };
  }

  /** First success completed after `t`, in ms after `t` (the store serving again). */
  recoveryAfter(t: number): number | undefined {
    const next = this.successes.find((s) => s >= t);
    return next === undefined ? undefined : next - t;
  }

  report(budgetMs: number, sinceMs = 0): LoadReport {
    const ops = this.ops.filter((o) => o.startedAt >= sinceMs);
    const other: Record<string, number> = {};
    for (const o of ops) if (o.end.startsWith('other:')) other[o.end] = (other[o.end] ?? 0) + 1;
    const span = ops.length === 0 ? 1 : Math.max(1, Math.max(...ops.map((o) => o.startedAt + o.ms)) - Math.min(...ops.map((o) => o.startedAt)));
    return {
      ops: ops.length,
      ok: ops.filter((o) => o.end === 'ok').length,
      failed: ops.filter((o) => o.end === 'failed').length,
      unknown: ops.filter((o) => o.end === 'unknown').length,
      other,
      maxMs: ops.reduce((m, o) => Math.max(m, o.ms), 0),
      overBudget: ops.filter((o) => o.ms > budgetMs),
      opsPerSecond: Math.round((ops.length * 1000) / span),
    };
  }

  /**
   * After recovery: every acknowledged write is there, nothing reported `failed` landed, acknowledged
   * creates open, acknowledged deletes stay deleted, and every record in the store opens.
   */
  async verify(sec: SecureStore, options: { expectDurable?: boolean } = {}): Promise<{ checked: number; lost: number; failedLanded: number }> {
    const durable = options.expectDurable ?? true;
    const mine = sec.for(OWNER);
    let checked = 0;
    let lost = 0;
    let failedLanded = 0;
    const problems: string[] = [];
    for (const [id, fields] of this.attempts) {
      if (this.deleted.has(id)) continue;
      let state: Record<string, unknown> | undefined;
      try {
        state = await mine.load(id);
      } catch (err) {
        if (!(err instanceof SessionStoreError) || err.code !== 'not_found' || durable) throw err;
        continue;
      }
      for (const [field, list] of fields) {
        checked++;
        const lastOk = list.lastIndexOf('ok') + 1; // 0 when none
        const v = state[field];
        const n = typeof v === 'number' ? v : 0;
        if (n < lastOk) {
          lost++;
          problems.push(`${id}.${field} = ${n}, but write ${lastOk} was acknowledged`);
        } else if (n > 0 && list[n - 1] !== 'ok' && list[n - 1] !== 'unknown') {
          failedLanded++;
          problems.push(`${id}.${field} = ${n}, a write reported ${list[n - 1]}`);
        }
      }
    }
    for (const id of this.created) {
      if (this.deleted.has(id)) continue;
      const got = await mine.load(id).then(
        () => 'ok',
        (err: unknown) => (err instanceof SessionStoreError ? err.code : 'untyped'),
      );
      if (got !== 'ok' && !((!durable || this.maybeDeleted.has(id)) && got === 'not_found')) problems.push(`created ${id}: ${got}`);
    }
    for (const id of this.deleted) {
      const got = await mine.load(id).then(
        () => 'ok',
        (err: unknown) => (err instanceof SessionStoreError ? err.code : 'untyped'),
      );
      if (got !== 'not_found') problems.push(`deleted ${id} came back: ${got}`);
    }
    // No torn record anywhere: every listed record opens.
    let cursor: string | undefined;
    do {
      const page = await sec.listActive(cursor === undefined ? { limit: 500 } : { limit: 500, cursor });
      for (const id of page.ids) {
        const got = await sec.inspect(id).then(
          () => 'ok',
          (err: unknown) => (err instanceof SessionStoreError ? err.code : 'untyped'),
        );
        if (!['ok', 'not_found', 'expired'].includes(got)) problems.push(`record ${id} does not open: ${got}`);
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(problems).toEqual([]);
    return { checked, lost, failedLanded };
  }
}

export interface MixedLoad {
  ledger: Ledger;
  stop(): Promise<void>;
}

/**
 * Starts `workers` loops of mixed operations over `sessions` (each worker owns the sessions at its
 * index modulo `workers`). Mix: 55% update, 25% load, 12% create, 8% delete of a session the worker
 * created itself.
 */
export function startMixedLoad(sec: SecureStore, sessions: string[], workers: number, ledger = new Ledger()): MixedLoad {
  const mine = sec.for(OWNER);
  let running = true;
  const loops = Array.from({ length: workers }, async (_, w) => {
    const own = sessions.filter((_, i) => i % workers === w);
    const scratch: string[] = [];
    const field = `w${w}`;
    let turn = 0;
    while (running) {
      const roll = Math.random();
      const id = own[turn++ % own.length]!;
      if (roll < 0.55) {
        const n = ledger.nextWrite(id, field);
        const { end } = await ledger.time('update', () => mine.update(id, { [field]: n }));
        ledger.settleWrite(id, field, n, end);
      } else if (roll < 0.8) {
        await ledger.time('load', () => mine.load(id));
      } else if (roll < 0.92 || scratch.length === 0) {
        const r = await ledger.time('create', () => mine.create({ by: field }));
        if (r.end === 'ok' && r.value !== undefined) {
          ledger.created.add(r.value);
          scratch.push(r.value);
        }
      } else {
        const victim = scratch.shift()!;
        const r = await ledger.time('delete', () => mine.delete(victim));
        if (r.end === 'ok') ledger.deleted.add(victim);
        else {
          // Not acknowledged: it may still have landed (outcome unknown). Try again later.
          ledger.maybeDeleted.add(victim);
          scratch.push(victim);
        }
      }
      // Yield to timers between operations, as a server handling requests would.
      await new Promise((r) => setImmediate(r));
    }
  });
  return {
    ledger,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Catches unhandled rejections and uncaught exceptions for the duration of a test. */
export function watchProcess(): { problems: unknown[]; dispose(): void } {
  const problems: unknown[] = [];
  const onRejection = (reason: unknown) => problems.push(reason);
  const onException = (err: unknown) => problems.push(err);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    problems,
    dispose() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

export function describeReport(name: string, r: LoadReport, extra: Record<string, unknown> = {}): string {
  const fields = {
    ops: r.ops,
    'ops/s': r.opsPerSecond,
    ok: r.ok,
    failed: r.failed,
    unknown: r.unknown,
    'max op ms': r.maxMs,
    ...extra,
  };
  return `[fault] ${name}: ${Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ')}`;
}
