/**
 * The few Redis commands adoption needs, over either client an express-session app already has:
 * node-redis (what connect-redis 9 is built on) or ioredis. Everything goes through two raw
 * commands, EVAL and SCAN, so both clients' typed APIs (which differ between their versions) are
 * never involved: node-redis's `sendCommand([...])` and ioredis's `call(name, ...args)`.
 *
 * Only a standalone server (or a primary): a Cluster client is refused, since neither raw command
 * is routed by key there.
 */
import { BackendUnavailableError, InvalidInputError } from '../internal.js';

/** The surface adoption uses; `legacyRedis(client)` builds it from a node-redis or ioredis client. */
export interface LegacyRedis {
  /** EVAL `script` with `keys` and `args` (all strings); resolves the script's reply (bulk strings as strings). */
  eval(script: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /** One SCAN step: `[nextCursor, keys]` ('0' when the walk is over). */
  scan(cursor: string, match: string, count: number): Promise<[string, string[]]>;
}

interface NodeRedisLike {
  sendCommand(args: string[]): Promise<unknown>;
  isOpen: boolean;
}

interface IoRedisLike {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  status: string;
}

function isNodeRedis(client: object): client is NodeRedisLike {
  return typeof (client as NodeRedisLike).sendCommand === 'function' && 'isOpen' in client;
}

function isIoRedis(client: object): client is IoRedisLike {
  return typeof (client as IoRedisLike).call === 'function' && typeof (client as IoRedisLike).status === 'string';
}

/** A failure reaching Redis as the library's typed `backend_unavailable` (nothing of the command's arguments in it: they hold session data). */
function unavailable(op: string, err: unknown): BackendUnavailableError {
  const reply = err instanceof Error ? err.message.split('\n')[0]!.slice(0, 200) : 'unknown error';
  return new BackendUnavailableError(`redis ${op} failed: ${reply}`, { outcome: op === 'scan' ? 'failed' : 'unknown' });
}

/** Wraps the application's node-redis (v4+) or ioredis (v5) client; never closes it. */
export function legacyRedis(client: unknown): LegacyRedis {
  if (client === null || typeof client !== 'object') throw new InvalidInputError('client must be the node-redis or ioredis client connect-redis used');
  if ('masters' in client || 'nodes' in client) throw new InvalidInputError('client: a Redis Cluster client is not supported for adoption; pass a client of the primary');
  let send: (args: (string | number)[]) => Promise<unknown>;
  if (isNodeRedis(client)) {
    send = (args) => client.sendCommand(args.map(String));
  } else if (isIoRedis(client)) {
    send = ([name, ...rest]) => client.call(String(name), ...rest);
  } else {
    throw new InvalidInputError('client must be a node-redis client (createClient from "redis") or an ioredis client');
  }
  const decode = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    if (Array.isArray(v)) return v.map(decode);
    return v;
  };
  return {
    async eval(script, keys, args) {
      try {
        return decode(await send(['EVAL', script, keys.length, ...keys, ...args]));
      } catch (err) {
        throw unavailable('eval', err);
      }
    },
    async scan(cursor, match, count) {
      let reply: unknown;
      try {
        reply = decode(await send(['SCAN', cursor, 'MATCH', match, 'COUNT', count]));
      } catch (err) {
        throw unavailable('scan', err);
      }
      if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) throw unavailable('scan', new Error('unexpected reply'));
      return [String(reply[0]), (reply[1] as unknown[]).map(String)];
    },
  };
}
