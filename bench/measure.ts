/**
 * One measurement = one tinybench task, run alone for latency, then a bare loop of the same call with
 * the process's CPU time (user + system, `process.cpuUsage()`) taken around it. Latency is what a
 * caller waits; CPU time is what this process spends, which is what matters on a small machine
 * shared with Redis or PostgreSQL.
 *
 * A task that runs `ops` operations per iteration (32 in flight) reports per-operation figures: the
 * median batch time divided by `ops`, and throughput as operations per second of wall time.
 */
import { Bench } from 'tinybench';

export interface Budget {
  /** Untimed calls before measuring, at least this long (ms). */
  warmupMs: number;
  /** Minimum timed wall time (ms). */
  timeMs: number;
  /** Minimum timed iterations. */
  minIterations: number;
}

export interface Measurement {
  /** Stable key, e.g. `layers/redis/full/1KB/seq/create+load`. */
  id: string;
  group: string;
  label: string;
  backend?: string;
  size?: string;
  /** `seq` (one at a time) or `32` (32 operations in flight). */
  mode?: 'seq' | '32';
  /** Operations per timed iteration. */
  ops: number;
  /** Median µs per operation (per batch / ops when several are in flight). */
  medianUs: number;
  meanUs: number;
  p99Us: number;
  /** Operations per second of wall time. */
  opsPerSec: number;
  /** Process CPU µs per operation (user + system). */
  cpuUsPerOp: number;
  samples: number;
  note?: string;
}

/** One side of an interleaved pair (pairs.ts). */
export interface Side {
  label: string;
  /** Median µs per operation over the slices. */
  us: number;
  /** Median process CPU µs per operation over the slices. */
  cpuUs: number;
  /** Median operations per second of wall time over the slices. */
  opsPerSec: number;
  /** Median CPU µs per operation of the server process (Redis pairs: INFO's used_cpu_*), when measured. */
  serverCpuUs?: number;
  /** 99th percentile latency (µs) over every request of every slice (express-user.ts). */
  p99Us?: number;
}

/** Both sides of an interleaved pair (pairs.ts): the targets are computed from these. */
export interface PairResult {
  id: string;
  a: Side;
  b: Side;
  /** Median over the rounds of b's time / a's time. */
  ratio: number;
  /** Median over the rounds of b's throughput / a's throughput. */
  throughputRatio: number;
  /** Median over the rounds of b's CPU µs/op - a's CPU µs/op. */
  cpuAddedUs: number;
  /** The same for the server's CPU, when measured. */
  serverCpuAddedUs?: number;
  /** b's p99 latency / a's, over all requests of each side (express-user.ts). */
  p99Ratio?: number;
  rounds: number;
  /** b's time / a's time in each round, in order (how steady the ratio was). */
  perRound: number[];
}

export interface MeasureSpec {
  id: string;
  group: string;
  label: string;
  backend?: string;
  size?: string;
  mode?: 'seq' | '32';
  ops?: number;
  note?: string;
}

type Fn = () => unknown;

/**
 * CPU µs per call of `fn`, from a bare loop (no harness bookkeeping, which would dominate a
 * sub-microsecond row) run for half the timed budget. Includes V8's GC threads: real cost.
 */
async function cpuPerCall(budget: Budget, fn: Fn): Promise<number> {
  const end = performance.now() + budget.timeMs / 2;
  let n = 0;
  const c0 = process.cpuUsage();
  do {
    const r = fn();
    if (r instanceof Promise) await r;
    n++;
  } while (n < Math.max(2, budget.minIterations / 2) || performance.now() < end);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

export async function measure(spec: MeasureSpec, budget: Budget, fn: Fn): Promise<Measurement> {
  const ops = spec.ops ?? 1;
  const warmEnd = performance.now() + budget.warmupMs;
  let warm = 0;
  let isAsync = false;
  while (warm < 2 || performance.now() < warmEnd) {
    const r = fn();
    if (r instanceof Promise) {
      isAsync = true;
      await r;
    }
    warm++;
  }
  const bench = new Bench({ time: budget.timeMs, iterations: budget.minIterations, warmup: false, throws: true });
  // A synchronous row is timed around the bare call (an await per iteration would add a microtask
  // turn to every sample); an `async` wrapper keeps tinybench from calling `fn` to find out.
  bench.add(
    spec.id,
    isAsync
      ? async () => {
          await fn();
        }
      : () => {
          fn();
        },
  );
  await bench.run();
  const cpuUsPerOp = await cpuPerCall(budget, fn) / ops;
  const task = bench.tasks[0]!;
  const r = task.result;
  if (r === undefined || r.error !== undefined) throw r?.error ?? new Error(`${spec.id}: no result`);
  const lat = r.latency;
  const runs = task.runs;
  const totalOps = runs * ops;
  const out: Measurement = {
    id: spec.id,
    group: spec.group,
    label: spec.label,
    ops,
    medianUs: ((lat.p50 ?? lat.mean) * 1000) / ops,
    meanUs: (lat.mean * 1000) / ops,
    p99Us: ((lat.p99 ?? lat.max) * 1000) / ops,
    opsPerSec: totalOps / (r.totalTime / 1000),
    cpuUsPerOp,
    samples: runs,
  };
  if (spec.backend !== undefined) out.backend = spec.backend;
  if (spec.size !== undefined) out.size = spec.size;
  if (spec.mode !== undefined) out.mode = spec.mode;
  if (spec.note !== undefined) out.note = spec.note;
  return out;
}

/** A one-shot timing (admin operations over N sessions): wall ms and CPU µs of one call. */
export interface OneShot {
  id: string;
  group: string;
  label: string;
  backend: string;
  sessions: number;
  wallMs: number;
  cpuMs: number;
  /** Sessions per second of wall time. */
  perSec: number;
  /** What the call reported (count removed, re-sealed, ids listed). */
  result: number;
  note?: string;
}

export async function oneShot(
  spec: { id: string; group: string; label: string; backend: string; sessions: number; note?: string },
  fn: () => Promise<number>,
): Promise<OneShot> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const out: OneShot = {
    ...spec,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    perSec: spec.sessions / (wallMs / 1000),
    result,
  };
  return out;
}

/** Runs `n` calls of `task(i)` with at most `width` in flight. */
export async function pool(n: number, width: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}
