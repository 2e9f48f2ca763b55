/**
 * The targets' ratios, measured as interleaved pairs, each pair in a fresh process of its own.
 *
 * Measured here: the speed of this shared 2-core machine drifts by up to 2x within seconds (other
 * tenants, Redis and PostgreSQL on the same cores), and a process that has already run the other
 * suites is slower again (inline caches gone megamorphic, a large heap to mark). A ratio of two
 * rows measured minutes apart in such a process says more about the machine than about the code.
 * So each target's two sides run in one fresh process (`tsx bench/pairs.ts <pair> <mode>`), each
 * warmed until its times settle, then in alternating slices (a, b, b, a, a, b, ...), each slice a
 * batch of calls with the process CPU time taken around it; the ratio is the median of the
 * per-round ratios, so drift slower than a round cancels out. The main tables keep their rows.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Iron from '@hapi/iron';
import { jwtVerify } from 'jose';
import { Keyring, MemoryStore, type RecordStore, secureStore } from '../src/index.js';
import { TOKEN_TYP } from '../src/tokens/index.js';
import { RedisStore } from '../src/backends/redis/index.js';
import { type Ctx, type Options, parseArgs } from './context.js';
import type { PairResult, Side } from './measure.js';
import { gcmRoundTrip } from './floors.js';
import { OWNER } from './layers.js';
import { REDIS_PREFIX, type Services, connectServices } from './services.js';
import { SIZES, mcpState } from './states.js';

type Fn = () => unknown;

interface SliceResult {
  us: number;
  cpuUs: number;
  opsPerSec: number;
  serverCpuUs?: number;
}

/** The CPU µs a server process has used so far (read outside the timed part of a slice). */
type ServerCpu = () => Promise<number>;

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const n = s.length;
  return n === 0 ? Number.NaN : n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

/** Calls `fn` for about `ms` (at least `min` calls): per-call median latency, CPU and throughput per operation. */
async function slice(fn: Fn, ops: number, ms: number, min: number, after?: () => Promise<void>, server?: ServerCpu): Promise<SliceResult> {
  const lat: number[] = [];
  const s0 = await server?.();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  let t = t0;
  while (lat.length < min || t < end) {
    const r = fn();
    if (r instanceof Promise) await r;
    const t1 = performance.now();
    lat.push(t1 - t);
    t = t1;
  }
  const wall = t - t0;
  const c = process.cpuUsage(c0);
  const s1 = await server?.();
  await after?.();
  const n = lat.length * ops;
  const result: SliceResult = { us: (median(lat) * 1000) / ops, cpuUs: (c.user + c.system) / n, opsPerSec: n / (wall / 1000) };
  if (s0 !== undefined && s1 !== undefined) result.serverCpuUs = (s1 - s0) / n;
  return result;
}

/**
 * Runs `fn` until it is warm: the JIT needs thousands of calls of a deep async path (seconds, for the
 * full stack) before the times settle. Stops once a slice is no faster than the best of the previous
 * three, after at least `minMs` and at most ten times that.
 */
async function warm(fn: Fn, ops: number, sliceMs: number, minMs: number, after?: () => Promise<void>): Promise<void> {
  const start = performance.now();
  const seen: number[] = [];
  for (;;) {
    const { us } = await slice(fn, ops, sliceMs, 2, after);
    const elapsed = performance.now() - start;
    const best = Math.min(...seen.slice(-3));
    seen.push(us);
    if (elapsed >= 10 * minMs || (elapsed >= minMs && seen.length > 3 && us >= best * 0.97)) return;
  }
}

interface PairSpec {
  id: string;
  a: { label: string; fn: Fn };
  b: { label: string; fn: Fn };
  /** Operations per call (32 when each call runs 32 in flight). */
  ops?: number;
  /** Untimed, after each slice (e.g. deleting the sessions a create row made). */
  after?: () => Promise<void>;
  /** The server's CPU so far, read around each measured slice (outside its timing). */
  serverCpu?: ServerCpu;
}

async function pair(options: Options, spec: PairSpec): Promise<PairResult> {
  const { rounds, sliceMs, warmMs } = options.smoke
    ? { rounds: 2, sliceMs: 2, warmMs: 2 }
    : options.quick
      ? { rounds: 6, sliceMs: 40, warmMs: 200 }
      : { rounds: 12, sliceMs: 150, warmMs: 600 };
  const ops = spec.ops ?? 1;
  await warm(spec.a.fn, ops, sliceMs, warmMs, spec.after);
  await warm(spec.b.fn, ops, sliceMs, warmMs, spec.after);
  const as: SliceResult[] = [];
  const bs: SliceResult[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which side goes first, so neither always runs right after the other.
    if (r % 2 === 0) {
      as.push(await slice(spec.a.fn, ops, sliceMs, 2, spec.after, spec.serverCpu));
      bs.push(await slice(spec.b.fn, ops, sliceMs, 2, spec.after, spec.serverCpu));
    } else {
      bs.push(await slice(spec.b.fn, ops, sliceMs, 2, spec.after, spec.serverCpu));
      as.push(await slice(spec.a.fn, ops, sliceMs, 2, spec.after, spec.serverCpu));
    }
  }
  const serverMeasured = spec.serverCpu !== undefined;
  const side = (label: string, xs: SliceResult[]): Side => ({
    label,
    us: median(xs.map((x) => x.us)),
    cpuUs: median(xs.map((x) => x.cpuUs)),
    opsPerSec: median(xs.map((x) => x.opsPerSec)),
    ...(serverMeasured ? { serverCpuUs: median(xs.map((x) => x.serverCpuUs ?? Number.NaN)) } : {}),
  });
  return {
    id: spec.id,
    a: side(spec.a.label, as),
    b: side(spec.b.label, bs),
    ratio: median(as.map((a, i) => bs[i]!.us / a.us)),
    throughputRatio: median(as.map((a, i) => bs[i]!.opsPerSec / a.opsPerSec)),
    cpuAddedUs: median(as.map((a, i) => bs[i]!.cpuUs - a.cpuUs)),
    ...(serverMeasured ? { serverCpuAddedUs: median(as.map((a, i) => (bs[i]!.serverCpuUs ?? Number.NaN) - (a.serverCpuUs ?? Number.NaN))) } : {}),
    rounds,
    perRound: as.map((a, i) => Number((bs[i]!.us / a.us).toFixed(3))),
  };
}

const IN_FLIGHT = 32;

/** A full stack's create+load, with the ids it made deleted between slices. */
function createLoad(backend: RecordStore, keyring: Keyring) {
  const scoped = secureStore(backend, { keyring, namespace: 'bench-pairs' }).for(OWNER);
  const made: string[] = [];
  const one = async (state: Parameters<typeof scoped.create>[0]) => {
    const id = await scoped.create(state);
    made.push(id);
    return scoped.load(id);
  };
  const after = async () => {
    const ids = made.splice(0);
    for (let i = 0; i < ids.length; i += 256) await Promise.all(ids.slice(i, i + 256).map((id) => backend.deleteRecord(id)));
  };
  return { scoped, one, after };
}

interface PairEnv {
  options: Options;
  services: Services;
}

const PASSWORD = 'a-benchmark-password-of-at-least-32-characters';

/** A memory-backed full stack with one 1 KB session, and its save+load. */
async function memorySaveLoad(size: keyof typeof SIZES) {
  const state = mcpState(SIZES[size]);
  const scoped = secureStore(new MemoryStore({ maxEntries: 1000, maxBytes: 2 ** 30, maxRecordBytes: 8 * 1024 * 1024 }), { keyring: Keyring.generate(), namespace: 'bench-pairs' }).for(OWNER);
  await scoped.save('pair', state);
  return {
    state,
    fn: async () => {
      await scoped.save('pair', state);
      return scoped.load('pair');
    },
  };
}

/** Each target's pair, built in the process that measures it; undefined when a service it needs is absent. */
const PAIRS: Record<string, (env: PairEnv) => Promise<PairSpec | undefined>> = {
  'memory-vs-json': async () => {
    const { state, fn } = await memorySaveLoad('1KB');
    return { id: 'memory-vs-json', a: { label: 'JSON stringify+parse', fn: () => JSON.parse(JSON.stringify(state)) }, b: { label: 'full stack save+load', fn } };
  },
  'memory-vs-iron': async () => {
    const { state, fn } = await memorySaveLoad('1KB');
    return {
      id: 'memory-vs-iron',
      a: { label: 'full stack save+load', fn },
      b: { label: 'iron seal+unseal', fn: async () => Iron.unseal(await Iron.seal(state, PASSWORD, Iron.defaults), PASSWORD, Iron.defaults) },
    };
  },
  // 256 KB: the full stack against what sealing it by hand costs at least: node:crypto GCM on its
  // JSON text plus the JSON floor.
  'large-256KB': async (env) => {
    if (env.options.quick) return undefined;
    const { state, fn } = await memorySaveLoad('256KB');
    const key = crypto.createSecretKey(crypto.randomBytes(32));
    const aad = Buffer.from('sss/bench/aad');
    const plain = Buffer.from(JSON.stringify(state));
    return {
      id: 'large-256KB',
      a: {
        label: 'node:crypto GCM seal+open + JSON stringify+parse',
        fn: () => {
          JSON.parse(JSON.stringify(state));
          return gcmRoundTrip(key, aad, plain);
        },
      },
      b: { label: 'full stack save+load', fn },
    };
  },
  // Tokens: ours against jose's jwtVerify on the very same token and key.
  'token-vs-jose': async () => {
    const keyring = Keyring.generate();
    const tokens = secureStore(new MemoryStore(), { keyring });
    const token = tokens.issueToken('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', OWNER);
    const sign = keyring.primary('sign');
    return {
      id: 'token-vs-jose',
      a: { label: 'token verify (ours)', fn: () => tokens.verifyToken(token, OWNER) },
      b: { label: "jose's jwtVerify", fn: () => jwtVerify(token, sign.key, { algorithms: ['HS256'], typ: TOKEN_TYP }) },
    };
  },
  // hideExistence: a stranger's load of another owner's session against a load of an id that does
  // not exist. Both answer not_found; with the decoy (src/layers/decoy.ts) both should cost the same,
  // so the ratio should be near 1 (it was 3-5x before the decoy). 1 KB states, memory backend.
  'hide-existence': async () => {
    const store = secureStore(new MemoryStore(), { keyring: Keyring.generate(), namespace: 'bench-pairs', hideExistence: true });
    const theirs = await store.for({ subject: 'someone-else' }).create(mcpState(SIZES['1KB']));
    const missing = 'A'.repeat(32);
    const stranger = store.for(OWNER);
    const notFound = (id: string) => () => stranger.load(id).then(
      () => {
        throw new Error('expected not_found');
      },
      () => undefined,
    );
    return {
      id: 'hide-existence',
      a: { label: 'hideExistence: load of a missing id', fn: notFound(missing) },
      b: { label: "hideExistence: load of another owner's id", fn: notFound(theirs) },
    };
  },
  'redis-seq': (env) => redisPair(env, false),
  'redis-32': (env) => redisPair(env, true),
};

async function redisPair(env: PairEnv, inFlight: boolean): Promise<PairSpec | undefined> {
  const redis = env.services.redis;
  if (redis === undefined) return undefined;
  const state = mcpState(SIZES['1KB']);
  const backend = new RedisStore({ client: redis, prefix: `${REDIS_PREFIX}pairs:` });
  const full = createLoad(backend, Keyring.generate());
  const rawKey = `${REDIS_PREFIX}pairs:raw`;
  const raw = async (k: string) => {
    await redis.set(k, JSON.stringify(state), 'PX', 3_600_000);
    return JSON.parse((await redis.get(k))!) as unknown;
  };
  if (!inFlight) {
    return { id: 'redis-seq', a: { label: 'raw Redis SET+GET', fn: () => raw(rawKey) }, b: { label: 'full stack create+load', fn: () => full.one(state) }, after: full.after, serverCpu: () => redisCpuUs(redis) };
  }
  const rawKeys = Array.from({ length: IN_FLIGHT }, (_, i) => `${rawKey}:${i}`);
  const serverCpu = () => redisCpuUs(redis);
  return {
    id: 'redis-32',
    a: { label: 'raw Redis SET+GET, 32 in flight', fn: () => Promise.all(rawKeys.map(raw)) },
    b: { label: 'full stack create+load, 32 in flight', fn: () => Promise.all(Array.from({ length: IN_FLIGHT }, () => full.one(state))) },
    ops: IN_FLIGHT,
    after: full.after,
    serverCpu,
  };
}

/**
 * The Redis server's CPU time so far (user + system, µs), from INFO: the node process and the
 * server share this machine's two cores, so what a layer costs the server (a Lua script rather than
 * a SET) is part of what it costs.
 */
async function redisCpuUs(redis: NonNullable<Services['redis']>): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/** Measures one pair in this process (the child's entry point below). */
async function measurePair(id: string, options: Options): Promise<PairResult | undefined> {
  const build = PAIRS[id];
  if (build === undefined) throw new Error(`unknown pair ${id}`);
  const services = await connectServices({ noServices: options.noServices });
  try {
    const spec = await build({ options, services });
    if (spec === undefined) return undefined;
    const result = await pair(options, spec);
    await spec.after?.();
    return result;
  } finally {
    await services.cleanup();
  }
}

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), '..');

/** Runs one pair in a child process and reads its result (the last line of its stdout). */
function childPair(id: string, argv: string[]): Promise<PairResult | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self, id, ...argv], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`pair ${id}: child exited with ${code}`));
      const last = out.trim().split('\n').pop() ?? '';
      resolve(last === 'null' ? undefined : (JSON.parse(last) as PairResult));
    });
  });
}

export async function runPairs(ctx: Ctx): Promise<void> {
  const argv = [...(ctx.options.smoke ? ['--smoke'] : ctx.options.quick ? ['--quick'] : []), ...(ctx.options.noServices ? ['--no-services'] : [])];
  for (const id of Object.keys(PAIRS)) {
    const r = await childPair(id, argv);
    if (r === undefined) {
      ctx.notes.push(`pair ${id} skipped (a service it needs is absent, or not measured in this mode)`);
      continue;
    }
    ctx.pairs.push(r);
    ctx.log(`  pair ${r.id}: ${r.b.label} / ${r.a.label} = ${r.ratio.toFixed(2)}x (${r.b.us.toFixed(1)} / ${r.a.us.toFixed(1)} µs)`);
  }
}

// Child entry: `tsx bench/pairs.ts <pair> [--quick|--smoke] [--no-services]` prints the result as JSON.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === self) {
  const [id, ...rest] = process.argv.slice(2);
  measurePair(id ?? '', parseArgs(rest)).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r ?? null)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
