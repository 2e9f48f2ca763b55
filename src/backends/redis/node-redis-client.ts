/**
 * RedisCommands over a node-redis client (`createClient` / `createCluster` of the `redis` package,
 * v5 and v6) (./commands.ts). Typed by shape, never imported: loading this file loads no library.
 *
 * Every command goes through `sendCommand` with the raw arguments (no key prefix, no command
 * transforms of the application's client configuration): node-redis writes the commands issued in
 * one tick together, so `pipeline` is those commands issued at once, each answered on its own.
 */
import { type PipelineResult, type Readiness, type ReadyState, type RedisArg, type RedisCommands, type RedisNode, byName } from './commands.js';

/** A node-redis client (`createClient()`), by the shape RedisStore uses. */
export interface NodeRedisClientLike {
  readonly isOpen: boolean;
  readonly isReady?: boolean;
  sendCommand(args: readonly RedisArg[], options?: object): Promise<unknown>;
  /** v5 and later (what tells them from node-redis 4). */
  withTypeMapping(...args: never[]): unknown;
}

/** One master of a node-redis Cluster (`cluster.masters`). */
interface NodeRedisShard {
  readonly host?: string;
  readonly port?: number;
  readonly address?: string;
}

/** A node-redis Cluster (`createCluster()`), by the shape RedisStore uses. */
export interface NodeRedisClusterLike {
  readonly isOpen: boolean;
  /** v6 (v5's Cluster has only `isOpen`). */
  readonly isReady?: boolean;
  readonly masters: readonly NodeRedisShard[];
  nodeClient(node: never): unknown;
  withTypeMapping(...args: never[]): unknown;
  sendCommand(firstKey: RedisArg | undefined, isReadonly: boolean | undefined, args: readonly RedisArg[], options?: object): Promise<unknown>;
}

export type NodeRedisClient = NodeRedisClientLike | NodeRedisClusterLike;

/** node-redis' RESP type code of a bulk string (`RESP_TYPES.BLOB_STRING`, '$'). */
const BLOB_STRING = 36;
/** Replies as bytes, whatever type mapping the application configured on its client. */
const AS_BUFFERS = { typeMapping: { [BLOB_STRING]: Buffer } };
/** Replies as text: node-redis' defaults, not a type mapping the application set with `withTypeMapping`. */
const AS_TEXT = { typeMapping: {} };
/** How often a wait for a (re)connecting node-redis client looks again (it has no single 'ready' event on a Cluster in v5). */
const READY_POLL_MS = 20;

export function isNodeRedisCluster(client: NodeRedisClient): client is NodeRedisClusterLike {
  return Array.isArray((client as { masters?: unknown }).masters) && typeof (client as { nodeClient?: unknown }).nodeClient === 'function';
}

const readinessOf = new WeakMap<object, Readiness>();

function readiness(client: { readonly isOpen: boolean; readonly isReady?: boolean }): Readiness {
  let r = readinessOf.get(client);
  if (r === undefined) {
    const state = (): ReadyState => {
      // Not open: the application never called connect(), or closed the client. node-redis would
      // refuse the command at once (ClientClosedError); there is nothing to wait for.
      if (!client.isOpen) return 'closed';
      // Open but not ready (reconnecting): a command would sit in the offline queue and go out
      // later, blurring "never sent" and "maybe sent". A v5 Cluster has no `isReady`: open is all
      // it says (a command for a reconnecting node may then be queued: reported `unknown`).
      return client.isReady === false ? 'wait' : 'ready';
    };
    r = {
      state,
      connect() {},
      watch(ready, end) {
        const timer = setInterval(() => {
          const s = state();
          if (s === 'ready' || s === 'closed') {
            clearInterval(timer);
            if (s === 'ready') ready();
            else end();
          }
        }, READY_POLL_MS);
        timer.unref?.();
        return () => clearInterval(timer);
      },
    };
    readinessOf.set(client, r);
  }
  return r;
}

interface NodeRedisNode extends RedisNode {
  readonly client: NodeRedisClientLike;
}

function settle(promises: Promise<unknown>[]): Promise<PipelineResult> {
  return Promise.allSettled(promises).then((results) =>
    results.map((r): [Error | null, unknown] => (r.status === 'fulfilled' ? [null, r.value] : [r.reason instanceof Error ? r.reason : new Error(String(r.reason)), null])),
  );
}

export function nodeRedisCommands(client: NodeRedisClient): RedisCommands {
  const cluster = isNodeRedisCluster(client) ? client : undefined;
  /** One command routed by its key (Cluster) or on the single server. */
  const send = (key: RedisArg, readonly: boolean, args: RedisArg[], options: object): Promise<unknown> =>
    cluster === undefined ? (client as NodeRedisClientLike).sendCommand(args, options) : cluster.sendCommand(key, readonly, args, options);
  const single: NodeRedisNode | undefined = cluster === undefined ? { name: '', readiness: readiness(client), client: client as NodeRedisClientLike } : undefined;
  return {
    library: 'node-redis',
    isCluster: cluster !== undefined,
    readiness: readiness(client),
    hmgetBuffer: (key, fields) => send(key, true, ['HMGET', key, ...fields], AS_BUFFERS) as Promise<(Buffer | null)[]>,
    hget: (key, field) => send(key, true, ['HGET', key, field], AS_TEXT) as Promise<string | null>,
    evalsha: (sha, keys, args) => send(keys[0] ?? '', false, ['EVALSHA', sha, String(keys.length), ...keys, ...args], AS_TEXT),
    eval: (src, keys, args) => send(keys[0] ?? '', false, ['EVAL', src, String(keys.length), ...keys, ...args], AS_TEXT),
    pipeline(node, commands) {
      const target = node === undefined ? single?.client : (node as NodeRedisNode).client;
      if (target === undefined) return Promise.reject(new Error('a pipeline on a Cluster needs a node'));
      return settle(commands.map((args) => target.sendCommand(args, AS_TEXT)));
    },
    async masters() {
      if (cluster === undefined) return [single!];
      const nodes = await Promise.all(
        cluster.masters.map(async (m): Promise<NodeRedisNode> => {
          const nodeClient = (await cluster.nodeClient(m as never)) as NodeRedisClientLike;
          return { name: `${m.host ?? ''}:${m.port ?? ''}`, readiness: readiness(nodeClient), client: nodeClient };
        }),
      );
      return nodes.sort(byName);
    },
    async scan(node, cursor, match, count) {
      const reply = (await (node as NodeRedisNode).client.sendCommand(['SCAN', cursor, 'MATCH', match, 'COUNT', String(count)], AS_TEXT)) as [string, string[]];
      return [String(reply[0]), reply[1]];
    },
    get: (key) => send(key, true, ['GET', key], AS_TEXT) as Promise<string | null>,
    set: (key, value, px) => send(key, false, px === undefined ? ['SET', key, value] : ['SET', key, value, 'PX', String(px)], AS_TEXT),
    del: (key) => send(key, false, ['DEL', key], AS_TEXT) as Promise<number>,
    pttl: (key) => send(key, true, ['PTTL', key], AS_TEXT) as Promise<number>,
  };
}
