/**
 * RedisCommands over an ioredis `Redis` or `Cluster` (./commands.ts). Only `import type` from
 * ioredis: importing this file never loads the library.
 */
import type { Cluster, Redis } from 'ioredis';
import { type PipelineResult, type Readiness, type ReadyState, type RedisArg, type RedisCommands, type RedisNode, byName } from './commands.js';

/** A standalone ioredis client or an ioredis Cluster. */
export type IoRedisClient = Redis | Cluster;

/** What readiness needs of an ioredis connection (a `Redis`, a `Cluster`, or one Cluster node). */
interface Connection {
  status: string;
  once(event: 'ready' | 'end', listener: () => void): unknown;
  removeListener(event: 'ready' | 'end', listener: () => void): unknown;
  connect(): Promise<void>;
  /** The socket of a standalone client (a Cluster has none). */
  stream?: { writable?: boolean } | undefined;
  manuallyClosing?: boolean;
}

interface IoNode extends RedisNode {
  readonly client: Redis;
}

const readinessOf = new WeakMap<object, Readiness>();

function readiness(conn: Connection): Readiness {
  let r = readinessOf.get(conn);
  if (r === undefined) {
    r = {
      state(): ReadyState {
        // `manuallyClosing` is ioredis' own (untyped) flag between `quit()` and the socket's close:
        // the application is shutting this client down. Should ioredis rename it, such a command
        // would be reported `unknown`: conservative, never wrong.
        if (conn.status === 'end' || conn.manuallyClosing === true) return 'closed';
        // 'ready' with a socket that can no longer write (the server just closed it, the 'close'
        // event is still to come) would put the command in ioredis' offline queue: not ready.
        if (conn.status === 'ready' && conn.stream?.writable !== false) return 'ready';
        return conn.status === 'wait' ? 'lazy' : 'wait';
      },
      connect() {
        conn.connect().catch(() => {});
      },
      watch(ready, end) {
        const onReady = () => {
          conn.removeListener('end', onEnd);
          ready();
        };
        const onEnd = () => {
          conn.removeListener('ready', onReady);
          end();
        };
        conn.once('ready', onReady);
        conn.once('end', onEnd);
        return () => {
          conn.removeListener('ready', onReady);
          conn.removeListener('end', onEnd);
        };
      },
    };
    readinessOf.set(conn, r);
  }
  return r;
}

export function ioredisCommands(client: IoRedisClient): RedisCommands {
  const c = client as Redis;
  const isCluster = (client as { isCluster?: unknown }).isCluster === true;
  return {
    library: 'ioredis',
    isCluster,
    readiness: readiness(client as unknown as Connection),
    hmgetBuffer: (key, fields) => c.hmgetBuffer(key, ...fields),
    hget: (key, field) => c.hget(key, field),
    evalsha: (sha, keys, args) => c.evalsha(sha, keys.length, ...keys, ...args),
    eval: (src, keys, args) => c.eval(src, keys.length, ...keys, ...args),
    async pipeline(node, commands) {
      const target = node === undefined ? c : (node as IoNode).client;
      // ioredis' pipeline([...]) calls its methods by name: lower case.
      const calls = commands.map(([name, ...args]) => [String(name).toLowerCase(), ...args]);
      return ((await target.pipeline(calls).exec()) ?? []) as PipelineResult;
    },
    async masters() {
      if (!isCluster) return [{ name: '', readiness: readiness(client as unknown as Connection), client: c } as IoNode];
      const nodes = (client as Cluster).nodes('master').map(
        (node): IoNode => ({ name: `${node.options.host ?? ''}:${node.options.port ?? ''}`, readiness: readiness(node as unknown as Connection), client: node }),
      );
      return nodes.sort(byName);
    },
    scan: (node, cursor, match, count) => (node as IoNode).client.scan(cursor, 'MATCH', match, 'COUNT', count),
    get: (key) => c.get(key),
    set: (key, value: RedisArg, px) => (px === undefined ? c.set(key, value) : c.set(key, value, 'PX', px)),
    del: (key) => c.del(key),
    pttl: (key) => c.pttl(key),
  };
}
