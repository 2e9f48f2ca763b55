/**
 * The user-level benchmark: HTTP requests through express + express-session that read and write
 * the session, at 1 and at 32 concurrent clients, with connect-redis and with this library's store
 * (`sealed-session-store/express` over `secureStore()` over `RedisStore`: encrypted, TTL enforced,
 * owner checked) over the same Redis, side by side in one run.
 *
 * Two processes: a child (`tsx bench/express-user.ts serve`) runs both express apps on loopback
 * ports; this process drives them over real HTTP (node:http, keep-alive agent), each virtual user
 * logging in once and then sending requests that read the session, change it and so write it back.
 * The sides run in alternating slices (a, b, b, a, ...) after a warm-up each, as in pairs.ts, so
 * drift of this shared machine cancels out. Reported per side: requests/s, median and p99 latency,
 * and CPU µs per request of the app server and of Redis (what limits it, when it misses).
 *
 * connect-redis 9 needs a node-redis client (`createClient` from `redis`). Our side's client is a
 * parameter (`--our-client ioredis|node-redis`, default ioredis): RedisStore takes an ioredis client
 * today; once it accepts node-redis, `--our-client node-redis` puts both sides on the very same
 * client object. The client each side used is printed and recorded in the result labels.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ctx } from './context.js';
import type { PairResult, Side } from './measure.js';

export type OurClient = 'ioredis' | 'node-redis';

const SECRET = 'a benchmark secret, the same for both apps';
const MAX_AGE = 30 * 60_000;
const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), '..');

interface Ports {
  connectRedis: number;
  sealed: number;
  clients: { connectRedis: string; sealed: string };
}

// ------------------------------------------------------------------ the child: both apps

async function serve(ourClient: OurClient): Promise<void> {
  const [{ default: express }, { default: session }, { RedisStore: ConnectRedisStore }, { createClient }, { Redis }] = await Promise.all([
    import('express'),
    import('express-session'),
    import('connect-redis'),
    import('redis'),
    import('ioredis'),
  ]);
  const { Keyring, secureStore } = await import('../src/index.js');
  const { RedisStore } = await import('../src/backends/redis/index.js');
  const { bindSession, sealedExpressStore } = await import('../src/express/index.js');
  const { REDIS_PREFIX, REDIS_URL } = await import('./services.js');
  const { SIZES, mcpState } = await import('./states.js');

  const nodeRedis = createClient({ url: REDIS_URL });
  nodeRedis.on('error', () => {});
  await nodeRedis.connect();
  const ioredis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  ioredis.on('error', () => {});
  // Which client our RedisStore gets: by default the same node-redis client object connect-redis uses.
  const ourRedis = ourClient === 'node-redis' ? (nodeRedis as unknown as typeof ioredis) : ioredis;

  const sealed = secureStore(new RedisStore({ client: ourRedis, prefix: `${REDIS_PREFIX}sealed:` }), {
    keyring: Keyring.generate(),
    namespace: 'bench-express',
    ttl: { idleMs: MAX_AGE, absoluteMs: 12 * 3600_000 },
  });
  const profile = mcpState(SIZES['1KB']);
  const build = (store: InstanceType<typeof ConnectRedisStore> | ReturnType<typeof sealedExpressStore>, ours: boolean) => {
    const app = express();
    app.disable('x-powered-by');
    // The server's CPU so far (µs), read by the driver around each slice; outside the session middleware.
    app.get('/__cpu', (_req, res) => {
      const c = process.cpuUsage();
      res.json(c.user + c.system);
    });
    app.use(session({ secret: SECRET, name: 'sid', store, resave: false, saveUninitialized: false, cookie: { maxAge: MAX_AGE, httpOnly: true, sameSite: 'lax' } }));
    app.post('/login/:user', async (req, res, next) => {
      try {
        const user = req.params.user;
        if (ours) await bindSession(req, user);
        else await new Promise<void>((resolve, reject) => req.session.regenerate((err: unknown) => (err ? reject(err as Error) : resolve())));
        Object.assign(req.session, { user, profile, hits: 0 });
        res.json({ user });
      } catch (err) {
        next(err);
      }
    });
    // Reads the session, changes it: express-session writes it back (store.set) after the response.
    app.get('/hit', (req, res) => {
      const s = req.session as unknown as { user?: string; hits?: number };
      if (s.user === undefined) {
        res.status(401).json({ error: 'no session' });
        return;
      }
      s.hits = (s.hits ?? 0) + 1;
      res.json({ user: s.user, hits: s.hits });
    });
    return app;
  };
  const apps = {
    connectRedis: build(new ConnectRedisStore({ client: nodeRedis, prefix: `${REDIS_PREFIX}connect:` }), false),
    sealed: build(sealedExpressStore(sealed, { maxAge: MAX_AGE }), true),
  };
  const servers: http.Server[] = [];
  const listen = (app: ReturnType<typeof express>) =>
    new Promise<number>((resolve) => {
      const server = http.createServer({ keepAliveTimeout: 60_000 }, app);
      servers.push(server);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  const ports: Ports = {
    connectRedis: await listen(apps.connectRedis),
    sealed: await listen(apps.sealed),
    clients: { connectRedis: 'node-redis (redis 6 createClient)', sealed: ourClient === 'node-redis' ? 'node-redis (the same client object)' : 'ioredis (its own client; SSS_TEST_BENCH_OUR_CLIENT=ioredis)' },
  };
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  // Ends when the driver closes stdin: everything under this process's key prefix is removed.
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.resume();
  });
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  await sealed.close();
  let cursor = '0';
  do {
    const [next, keys] = await ioredis.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 1000);
    if (keys.length > 0) await ioredis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  ioredis.disconnect();
  await nodeRedis.quit();
}

// ------------------------------------------------------------------ the driver

interface Reply {
  status: number;
  body: string;
  setCookie: string | undefined;
}

function request(agent: http.Agent, port: number, method: string, pathName: string, cookie: string | undefined): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: pathName, agent, headers: cookie === undefined ? {} : { cookie } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => void (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie']?.[0]?.split(';')[0] }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface User {
  cookie: string;
}

interface SliceResult {
  latMs: number[];
  opsPerSec: number;
  appCpuUs: number;
  redisCpuUs: number | undefined;
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const median = (xs: number[]): number => percentile(xs, 50);

export async function runExpressUser(ctx: Ctx, ourClient: OurClient = (process.env.SSS_TEST_BENCH_OUR_CLIENT as OurClient | undefined) ?? 'node-redis'): Promise<void> {
  const redis = ctx.services.redis;
  if (redis === undefined) {
    ctx.notes.push(`express-user skipped: ${ctx.services.redisSkip ?? 'no Redis'}`);
    return;
  }
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', self, 'serve', ourClient], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const ports = await new Promise<Ports>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Ports);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`express-user server exited with ${code}`)));
  });
  ctx.log(`  express-user: connect-redis on ${ports.clients.connectRedis}; ours on ${ports.clients.sealed}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const { rounds, sliceMs, warmMs } = ctx.options.smoke
    ? { rounds: 2, sliceMs: 100, warmMs: 100 }
    : ctx.options.quick
      ? { rounds: 4, sliceMs: 500, warmMs: 1000 }
      : { rounds: 8, sliceMs: 1500, warmMs: 3000 };
  const redisCpu = async () => {
    const info = await redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
    return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
  };
  try {
    for (const concurrency of [1, 32]) {
      const login = async (port: number, i: number): Promise<User> => {
        const r = await request(agent, port, 'POST', `/login/user${i}`, undefined);
        if (r.status !== 200 || r.setCookie === undefined) throw new Error(`login on ${port}: ${r.status} ${r.body}`);
        return { cookie: r.setCookie };
      };
      const users = {
        a: await Promise.all(Array.from({ length: concurrency }, (_, i) => login(ports.connectRedis, i))),
        b: await Promise.all(Array.from({ length: concurrency }, (_, i) => login(ports.sealed, i))),
      };
      const run = async (port: number, us: User[], ms: number): Promise<SliceResult> => {
        const cpu0 = Number((await request(agent, port, 'GET', '/__cpu', undefined)).body);
        const r0 = await redisCpu();
        const lat: number[] = [];
        const t0 = performance.now();
        const end = t0 + ms;
        await Promise.all(
          us.map(async (user) => {
            while (performance.now() < end) {
              const s = performance.now();
              const r = await request(agent, port, 'GET', '/hit', user.cookie);
              if (r.status !== 200) throw new Error(`/hit on ${port}: ${r.status} ${r.body}`);
              if (r.setCookie !== undefined) user.cookie = r.setCookie;
              lat.push(performance.now() - s);
            }
          }),
        );
        const wall = performance.now() - t0;
        const cpu1 = Number((await request(agent, port, 'GET', '/__cpu', undefined)).body);
        const r1 = await redisCpu();
        return { latMs: lat, opsPerSec: lat.length / (wall / 1000), appCpuUs: (cpu1 - cpu0) / lat.length, redisCpuUs: (r1 - r0) / lat.length };
      };
      await run(ports.connectRedis, users.a, warmMs);
      await run(ports.sealed, users.b, warmMs);
      const as: SliceResult[] = [];
      const bs: SliceResult[] = [];
      for (let r = 0; r < rounds; r++) {
        if (r % 2 === 0) {
          as.push(await run(ports.connectRedis, users.a, sliceMs));
          bs.push(await run(ports.sealed, users.b, sliceMs));
        } else {
          bs.push(await run(ports.sealed, users.b, sliceMs));
          as.push(await run(ports.connectRedis, users.a, sliceMs));
        }
      }
      const side = (label: string, xs: SliceResult[]): Side => {
        const all = xs.flatMap((x) => x.latMs);
        return {
          label,
          us: median(all) * 1000,
          p99Us: percentile(all, 99) * 1000,
          cpuUs: median(xs.map((x) => x.appCpuUs)),
          opsPerSec: median(xs.map((x) => x.opsPerSec)),
          serverCpuUs: median(xs.map((x) => x.redisCpuUs ?? Number.NaN)),
        };
      };
      const a = side(`express-session + connect-redis 9, ${ports.clients.connectRedis}, ${concurrency} concurrent`, as);
      const b = side(`express-session + sealed-session-store/express over RedisStore, ${ports.clients.sealed}, ${concurrency} concurrent`, bs);
      const result: PairResult = {
        id: `express-user-${concurrency}`,
        a,
        b,
        ratio: median(as.map((x, i) => median(bs[i]!.latMs) / median(x.latMs))),
        throughputRatio: median(as.map((x, i) => bs[i]!.opsPerSec / x.opsPerSec)),
        p99Ratio: b.p99Us! / a.p99Us!,
        cpuAddedUs: median(as.map((x, i) => bs[i]!.appCpuUs - x.appCpuUs)),
        serverCpuAddedUs: median(as.map((x, i) => (bs[i]!.redisCpuUs ?? Number.NaN) - (x.redisCpuUs ?? Number.NaN))),
        rounds,
        perRound: as.map((x, i) => Number((bs[i]!.opsPerSec / x.opsPerSec).toFixed(3))),
      };
      ctx.pairs.push(result);
      ctx.log(
        `  express-user ${concurrency}: ${b.opsPerSec.toFixed(0)} vs ${a.opsPerSec.toFixed(0)} req/s (${result.throughputRatio.toFixed(2)}x), ` +
          `p99 ${(b.p99Us! / 1000).toFixed(2)} vs ${(a.p99Us! / 1000).toFixed(2)} ms (${result.p99Ratio!.toFixed(2)}x), ` +
          `app CPU ${b.cpuUs.toFixed(0)} vs ${a.cpuUs.toFixed(0)} µs/req, Redis CPU ${b.serverCpuUs!.toFixed(0)} vs ${a.serverCpuUs!.toFixed(0)} µs/req`,
      );
    }
  } finally {
    agent.destroy();
    child.stdin!.end();
    await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
  }
}

// Child entry: `tsx bench/express-user.ts serve [ioredis|node-redis]`.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === self && process.argv[2] === 'serve') {
  serve((process.argv[3] as OurClient | undefined) ?? 'ioredis').catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
