/**
 * Load: 1,000 sessions x mixed operations through the full secured stack (ownership, TTL,
 * encryption) on Redis and PostgreSQL (the shared test services, through test/fixtures) for a
 * bounded time, then: operations per second, p50 / p99 per operation, memory over the run, and
 * 0 lost updates (every worker writes its own field of random sessions, concurrently with the
 * others; each field must end at its last acknowledged value).
 *
 * MemoryStore with small configured bounds must stay within them the whole run (asserted).
 *
 * SSS_TEST_LOAD_MS sets the duration per backend (default 5000); SSS_TEST_LONG=1 makes it 60 s.
 */
import { Keyring, MemoryStore, type RecordStore, type SecureStore, SessionStoreError, secureStore } from 'sealed-session-store';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresFixture } from '../support/fixtures/postgres.js';
import { disposeRedisStore, redisFixture } from '../support/fixtures/redis.js';
import type { BackendFixture } from '../support/fixtures/types.js';

const LONG = process.env.SSS_TEST_LONG === '1';
const DURATION_MS = Number(process.env.SSS_TEST_LOAD_MS ?? (LONG ? 60_000 : 5_000));
const SESSIONS = 1_000;
const WORKERS = 32;
const OWNER = { subject: 'load-owner' };

type Kind = 'load' | 'update' | 'updateTtl' | 'resume' | 'create+delete';

interface Run {
  ops: number;
  seconds: number;
  latencies: Map<Kind, number[]>;
  errors: Map<string, number>;
  memory: { rssMB: number[]; heapMB: number[] };
  lost: number;
  checked: number;
  /** Sessions gone by eviction (a bounded MemoryStore), whose fields are not counted. */
  evicted: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;

/** Samples process memory every 250 ms until stopped. */
function sampleMemory(): { stop(): { rssMB: number[]; heapMB: number[] } } {
  const rss: number[] = [];
  const heap: number[] = [];
  const take = () => {
    const m = process.memoryUsage();
    rss.push(mb(m.rss));
    heap.push(mb(m.heapUsed));
  };
  take();
  const timer = setInterval(take, 250);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { rssMB: rss, heapMB: heap };
    },
  };
}

async function runMixed(sec: SecureStore, sessions: string[], durationMs: number, options: { onOp?: () => void; evictable?: boolean } = {}): Promise<Run> {
  const { onOp, evictable = false } = options;
  const mine = sec.for(OWNER);
  const latencies = new Map<Kind, number[]>();
  const errors = new Map<string, number>();
  /** lastAck[worker][session] = last acknowledged value of that worker's field there. */
  const lastAck = Array.from({ length: WORKERS }, () => new Map<string, number>());
  const tokens = new Map<string, string>();
  let ops = 0;
  const memory = sampleMemory();
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      let counter = 0;
      while (performance.now() < end) {
        const id = sessions[Math.floor(Math.random() * sessions.length)]!;
        const roll = Math.random();
        const kind: Kind = roll < 0.45 ? 'load' : roll < 0.8 ? 'update' : roll < 0.87 ? 'updateTtl' : roll < 0.95 ? 'resume' : 'create+delete';
        const t0 = performance.now();
        try {
          if (kind === 'load') await mine.load(id);
          else if (kind === 'update') {
            const n = ++counter;
            await mine.update(id, { [`w${w}`]: n });
            lastAck[w]!.set(id, n);
          } else if (kind === 'updateTtl') await mine.updateTtl(id, 30 * 60_000);
          else if (kind === 'resume') {
            let token = tokens.get(id);
            if (token === undefined) tokens.set(id, (token = sec.issueToken(id, OWNER)));
            await sec.resume(token, OWNER);
          } else {
            const scratch = await mine.create({ scratch: w });
            await mine.delete(scratch);
          }
        } catch (err) {
          const code = err instanceof SessionStoreError ? err.code : `untyped ${(err as Error)?.name}`;
          errors.set(code, (errors.get(code) ?? 0) + 1);
        }
        const ms = performance.now() - t0;
        let list = latencies.get(kind);
        if (list === undefined) latencies.set(kind, (list = []));
        list.push(ms);
        ops++;
        onOp?.();
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const mem = memory.stop();
  // Lost updates: every field must hold its last acknowledged value.
  let lost = 0;
  let checked = 0;
  let evicted = 0;
  for (const id of sessions) {
    const state = await mine.load(id).catch((err: unknown) => {
      if (evictable && err instanceof SessionStoreError && err.code === 'not_found') return null;
      return undefined;
    });
    if (state === null) {
      evicted++;
      continue;
    }
    for (let w = 0; w < WORKERS; w++) {
      const want = lastAck[w]!.get(id);
      if (want === undefined) continue;
      checked++;
      if (state?.[`w${w}`] !== want) lost++;
    }
  }
  return { ops, seconds, latencies, errors, memory: mem, lost, checked, evicted };
}

function report(name: string, r: Run, extra = ''): void {
  const all = [...r.latencies.values()].flat().sort((a, b) => a - b);
  const per = [...r.latencies]
    .map(([k, v]) => {
      const s = [...v].sort((a, b) => a - b);
      return `${k} p50 ${percentile(s, 50).toFixed(2)} / p99 ${percentile(s, 99).toFixed(2)} ms`;
    })
    .join('; ');
  const rss = r.memory.rssMB;
  const heap = r.memory.heapMB;
  console.info(
    `[load] ${name}: ${r.ops} ops in ${r.seconds.toFixed(1)} s = ${Math.round(r.ops / r.seconds)} ops/s with ${WORKERS} concurrent callers over ${SESSIONS} sessions; ` +
      `all ops p50 ${percentile(all, 50).toFixed(2)} ms, p99 ${percentile(all, 99).toFixed(2)} ms; ${per}; ` +
      `lost updates ${r.lost} of ${r.checked} fields${r.evicted > 0 ? ` (sessions evicted: ${r.evicted})` : ''}; errors ${JSON.stringify(Object.fromEntries(r.errors))}; ` +
      `rss ${rss[0]} -> max ${Math.max(...rss)} -> ${rss[rss.length - 1]} MB, heap ${heap[0]} -> max ${Math.max(...heap)} -> ${heap[heap.length - 1]} MB${extra}`,
  );
}

async function createSessions(sec: SecureStore, n: number): Promise<{ ids: string[]; perSecond: number }> {
  const mine = sec.for(OWNER);
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < n; i += 50) {
    ids.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => mine.create({ n: i + j, blob: 'x'.repeat(200) })))));
  }
  return { ids, perSecond: Math.round(n / ((performance.now() - t0) / 1000)) };
}

const backends: Array<{ fixture: BackendFixture; dispose?: (s: RecordStore) => Promise<void> }> = [
  { fixture: redisFixture, dispose: disposeRedisStore },
  { fixture: postgresFixture },
];

for (const { fixture, dispose } of backends) {
  const skip = await fixture.skipReason();
  describe.skipIf(skip !== undefined)(`load on ${fixture.name}`, () => {
    afterAll(() => fixture.cleanup());

    it(`${SESSIONS} sessions x mixed operations for ${DURATION_MS} ms through the full stack: 0 lost updates, typed errors only`, { timeout: DURATION_MS + 120_000 }, async () => {
      const backend = await fixture.create({ now: Date.now });
      const sec = secureStore(backend, { keyring: Keyring.generate(), namespace: 'load' });
      try {
        const { ids, perSecond } = await createSessions(sec, SESSIONS);
        const run = await runMixed(sec, ids, DURATION_MS);
        report(fixture.name, run, `; ${SESSIONS} creates at ${perSecond}/s`);
        expect(run.lost).toBe(0);
        expect(run.checked).toBeGreaterThan(0);
        // Without faults nothing may fail (a conflict would mean the in-process queue let a race through).
        expect(Object.fromEntries(run.errors)).toEqual({});
      } finally {
        await sec.close();
        await dispose?.(backend);
      }
    });
  });
}

describe('load on a bounded MemoryStore', () => {
  it('stays within its configured entry and byte bounds the whole run; evicted sessions are not_found, never an untyped error', { timeout: DURATION_MS + 60_000 }, async () => {
    const maxEntries = 500;
    const maxBytes = 512 * 1024;
    const backend = new MemoryStore({ maxEntries, maxBytes });
    const sec = secureStore(backend, { keyring: Keyring.generate(), namespace: 'load-memory' });
    let maxSize = 0;
    let maxSeen = 0;
    const check = () => {
      maxSize = Math.max(maxSize, backend.size);
      maxSeen = Math.max(maxSeen, backend.bytes);
      if (backend.size > maxEntries || backend.bytes > maxBytes) throw new Error(`MemoryStore over its bounds: ${backend.size} entries, ${backend.bytes} bytes`);
    };
    try {
      const { ids } = await createSessions(sec, SESSIONS);
      check();
      const run = await runMixed(sec, ids, Math.min(DURATION_MS, 3_000), { onOp: check, evictable: true });
      report('memory (maxEntries 500, maxBytes 512 KiB)', run, `; held at most ${maxSize} entries, ${Math.round(maxSeen / 1024)} KiB`);
      expect(maxSize).toBeLessThanOrEqual(maxEntries);
      expect(maxSeen).toBeLessThanOrEqual(maxBytes);
      // Sessions that survived eviction kept every acknowledged update.
      expect(run.lost).toBe(0);
      // 1,000 sessions do not fit: the least recently used were evicted, and say so.
      const codes = [...run.errors.keys()];
      expect(codes.every((c) => c === 'not_found')).toBe(true);
      expect(codes.length).toBeGreaterThan(0);
    } finally {
      await sec.close();
    }
  });
});
