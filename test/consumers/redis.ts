// A consumer of ./redis with ioredis: the store over a client that never connects (lazyConnect),
// so the store is built and closed without a server.
import { Redis } from 'ioredis';
import { Keyring, secureStore } from 'sealed-session-store';
import type { RedisConfig } from 'sealed-session-store/config';
import { DEFAULT_REDIS_PREFIX, type RedisClient, RedisStore } from 'sealed-session-store/redis';

async function main(): Promise<string> {
  const client: RedisClient = new Redis({ lazyConnect: true, enableOfflineQueue: false });
  const backend = new RedisStore({ client, prefix: 'consumer:' });
  const store = secureStore(backend, { keyring: Keyring.generate(), namespace: 'consumer' });
  // ./config takes the same client (typed by shape there, so ./config needs no ioredis types).
  const viaConfig: RedisConfig = { adapter: 'redis', url: 'redis://127.0.0.1:1', redisClient: client };
  await store.close();
  client.disconnect();
  return `prefix=${DEFAULT_REDIS_PREFIX} status=${client.status} config=${viaConfig.adapter}`;
}

main().then((detail) => console.log(`ok ${detail}`));
