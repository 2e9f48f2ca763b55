/**
 * Private servers for the fault tests: a redis-server or a PostgreSQL cluster of our own on a free
 * loopback port, in a temporary directory, that a test may kill, pause, restart or cut off without
 * touching the shared services on 6379 / 5432. Also a small TCP proxy that can freeze or reset the
 * connections through it.
 *
 * PostgreSQL refuses to run as root: when the tests run as root (CI), the cluster is created and
 * run as the unprivileged `nobody` user (spawn's uid/gid), in a directory handed over to it.
 * Every server started here is killed when the test process exits, whatever happens.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

// ------------------------------------------------------------------------------------ helpers

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` (a server coming up, not a TTL) until it holds or `ms` pass. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms: number, everyMs = 50): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** One RESP round trip on a fresh socket; resolves the first reply line (or '' on any failure). */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (v: string) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(1000, () => done(''));
    sock.once('error', () => done(''));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n');
      if (end >= 0) done(buf.slice(0, end));
    });
    sock.once('connect', () => sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
  });
}

// ------------------------------------------------------------------------------------ Redis

export interface PrivateRedis {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  /** Whether the server answers PING with PONG (not LOADING). */
  ping(): Promise<boolean>;
  /** Sends a signal (default SIGKILL: `kill -9`) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and directory; resolves when it answers PING. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

export interface PrivateRedisOptions {
  /** AOF with fsync on every write (`--appendonly yes --appendfsync always`): acknowledged writes survive a kill -9. */
  persistent?: boolean;
  /** Further command-line settings, e.g. `['--rename-command', 'CONFIG', '']`. */
  args?: string[];
}

export async function startRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'sss-fault-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.persistent === true ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--daemonize',
    'no',
    '--logfile',
    '',
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  const ping = async () => (await redisCommand(port, 'PING')) === '+PONG';
  const server: PrivateRedis = {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    ping,
    async kill(signal = 'SIGKILL') {
      const c = child;
      if (c === undefined) return;
      c.kill(signal);
      await exited(c);
      child = undefined;
    },
    async start() {
      if (child !== undefined) return;
      child = track(spawn('redis-server', args, { stdio: 'ignore' }));
      const c = child;
      await waitFor(`redis-server on ${port}`, async () => {
        if (c.exitCode !== null) throw new Error(`redis-server exited with ${c.exitCode}`);
        return ping();
      }, 15_000, 20);
    },
    async stop() {
      await server.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

// ------------------------------------------------------------------------------------ PostgreSQL

/** The directory of the PostgreSQL server binaries, or undefined when none is installed. */
export function postgresBinDir(): string | undefined {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // pg_config absent: look where Debian puts the server
  }
  if (existsSync('/usr/lib/postgresql')) {
    for (const v of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  return candidates.find((d) => existsSync(path.join(d, 'initdb')) && existsSync(path.join(d, 'postgres')));
}

export interface PrivatePostgres {
  readonly port: number;
  readonly url: string;
  /** Whether the server accepts a connection and answers. */
  ready(): Promise<boolean>;
  /**
   * Stops the server: 'immediate' (SIGQUIT, no checkpoint: crash recovery on the next start, like a
   * kill), 'fast' (SIGINT) or 'kill' (SIGKILL of the postmaster alone).
   */
  stopServer(mode?: 'immediate' | 'fast'): Promise<void>;
  /** Starts the server again on the same port and data directory; resolves when it answers. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** uid/gid to run PostgreSQL as: ourselves, or `nobody` when we are root. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export async function startPostgres(settings: Record<string, string> = {}): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('no PostgreSQL server binaries found (pg_config --bindir, /usr/lib/postgresql/*/bin)');
  const port = await freePort();
  const root = mkdtempSync(path.join(tmpdir(), 'sss-fault-pg-'));
  const data = path.join(root, 'data');
  const user = postgresUser();
  if (user !== undefined) {
    chownSync(root, user.uid, user.gid);
    chmodSync(root, 0o700);
  }
  const asUser = { ...(user ?? {}), env: { ...process.env, HOME: root, LC_ALL: 'C', LANG: 'C' } };
  execFileSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C'], { ...asUser, stdio: 'ignore' });
  const conf: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: root,
    max_connections: '60',
    shared_buffers: '32MB',
    fsync: 'on',
    synchronous_commit: 'on',
    logging_collector: 'off',
    ...settings,
  };
  const args = ['-D', data, ...Object.entries(conf).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  let child: ChildProcess | undefined;
  const ready = async () => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  };
  const server: PrivatePostgres = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    ready,
    async stopServer(mode = 'immediate') {
      const c = child;
      if (c === undefined) return;
      c.kill(mode === 'immediate' ? 'SIGQUIT' : 'SIGINT');
      await exited(c);
      child = undefined;
    },
    async start() {
      if (child !== undefined) return;
      child = track(spawn(path.join(bin, 'postgres'), args, { ...asUser, stdio: 'ignore' }));
      const c = child;
      await waitFor(`postgres on ${port}`, async () => {
        if (c.exitCode !== null) throw new Error(`postgres exited with ${c.exitCode}`);
        return ready();
      }, 30_000, 50);
    },
    async stop() {
      await server.stopServer('immediate');
      rmSync(root, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

// ------------------------------------------------------------------------------------ TCP proxy

export interface TcpProxy {
  readonly port: number;
  /** Bytes from clients are held back (sent but never delivered) until `thaw`. */
  freeze(): void;
  thaw(): void;
  /** Destroys every proxied connection at once: a connection reset (held bytes are dropped). */
  reset(): void;
  /** Connections currently open through the proxy. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let frozen = false;
  const held: Array<() => void> = [];
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((down) => {
    const up = net.connect({ host: targetHost, port: targetPort });
    const pair: [net.Socket, net.Socket] = [down, up];
    pairs.add(pair);
    down.on('data', (d) => (frozen ? held.push(() => up.write(d)) : up.write(d)));
    up.on('data', (d) => down.write(d));
    const end = () => {
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: TcpProxy = {
    port: (server.address() as net.AddressInfo).port,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const f of held.splice(0)) f();
    },
    reset() {
      held.splice(0);
      for (const [down, up] of [...pairs]) {
        // resetAndDestroy sends an RST, like a dropped NAT entry or a crashed middlebox.
        (down as net.Socket & { resetAndDestroy?: () => void }).resetAndDestroy?.() ?? down.destroy();
        up.destroy();
      }
      pairs.clear();
    },
    get connections() {
      return pairs.size;
    },
    close() {
      proxy.reset();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
