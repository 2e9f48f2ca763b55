/**
 * Keyv (and anything built on it, such as cache-manager) with sealed values: the adapter keeps keys
 * and values out of the backend and enforces each entry's TTL inside its envelope.
 *   npx tsx examples/keyv.ts
 */
import Keyv from 'keyv';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { sealedKeyv } from 'sealed-session-store/keyv';

const backend = new MemoryStore(); // or a RedisStore / PostgresStore shared by your processes
const secure = secureStore(backend, { keyring: Keyring.generate(), namespace: 'cache' });
const cache = new Keyv({ store: sealedKeyv(secure), namespace: 'profiles' });
cache.on('error', (err) => console.error('cache error:', err));

await cache.set('user:42', { name: 'Ada', plan: 'pro' }, 60_000);
console.log('get user:42 ->', JSON.stringify(await cache.get('user:42')));

const [id] = (await backend.listActive()).ids;
const stored = await backend.loadRecord(id!);
const bytes = Buffer.from(stored!.value as Uint8Array).toString('latin1');
console.log('backend id looks like', `${id!.slice(0, 16)}…`, '- holds "Ada":', bytes.includes('Ada'), '- holds "user:42":', `${id}${bytes}`.includes('user:42'));

await cache.delete('user:42');
console.log('after delete ->', await cache.get('user:42'));
await secure.close();
console.log('Done.');
