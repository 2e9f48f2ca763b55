/**
 * Picks the RedisCommands implementation for the client the application gave, by its shape: an
 * ioredis `Redis` / `Cluster` has a `status` string and `pipeline()`; a node-redis client or
 * Cluster has an `isOpen` flag and `sendCommand()`. Neither library is imported.
 */
import { InvalidInputError } from '../../contract/errors.js';
import type { RedisCommands } from './commands.js';
import { type IoRedisClient, ioredisCommands } from './ioredis-client.js';
import { type NodeRedisClient, nodeRedisCommands } from './node-redis-client.js';

/** The clients RedisStore takes: ioredis (`Redis`, `Cluster`) or node-redis (`createClient()`, `createCluster()`). */
export type RedisClient = IoRedisClient | NodeRedisClient;

const adapted = new WeakMap<object, RedisCommands>();

/**
 * The RedisCommands of `client` (one per client object). Throws `invalid_input` for anything that
 * is neither an ioredis nor a node-redis 5/6 client (node-redis 4, a mock of the wrong shape), rather than failing later with a misleading timeout.
 */
export function redisCommands(client: RedisClient): RedisCommands {
  if (client === null || typeof client !== 'object') throw new InvalidInputError('client must be an ioredis or node-redis client');
  let commands = adapted.get(client);
  if (commands !== undefined) return commands;
  const shape = client as { status?: unknown; pipeline?: unknown; isOpen?: unknown; sendCommand?: unknown; withTypeMapping?: unknown };
  if (typeof shape.status === 'string' && typeof shape.pipeline === 'function') commands = ioredisCommands(client as IoRedisClient);
  else if (typeof shape.isOpen === 'boolean' && typeof shape.sendCommand === 'function') {
    // node-redis 4 has the same two members but no type mappings: it would hand sealed bytes back as
    // (corrupted) text. `withTypeMapping` arrived with v5.
    if (typeof shape.withTypeMapping !== 'function') throw new InvalidInputError('client is a node-redis 4 client: RedisStore needs redis (node-redis) 5 or 6');
    commands = nodeRedisCommands(client as NodeRedisClient);
  } else throw new InvalidInputError('client must be an ioredis client (Redis, Cluster) or a node-redis client (createClient, createCluster)');
  adapted.set(client, commands);
  return commands;
}
