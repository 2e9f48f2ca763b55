// A consumer of ./keyv with Keyv: sealed values behind Keyv's own API.
import Keyv from 'keyv';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { sealedKeyv } from 'sealed-session-store/keyv';

async function main(): Promise<string> {
  const secure = secureStore(new MemoryStore(), { keyring: Keyring.generate(), namespace: 'cache' });
  const cache = new Keyv<{ name: string }>({ store: sealedKeyv(secure), namespace: 'profiles' });
  await cache.set('user:42', { name: 'Ada' }, 60_000);
  const got = await cache.get('user:42');
  await secure.close();
  return `name=${got?.name}`;
}

main().then((detail) => console.log(`ok ${detail}`));
