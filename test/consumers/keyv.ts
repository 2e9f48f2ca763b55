// A consumer of ./keyv with Keyv: sealed values behind Keyv's own API, and a Keyv store under secureStore().
import Keyv from 'keyv';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { keyvBackend, sealedKeyv } from 'sealed-session-store/keyv';

async function main(): Promise<string> {
  const secure = secureStore(new MemoryStore(), { keyring: Keyring.generate(), namespace: 'cache' });
  const cache = new Keyv<{ name: string }>({ store: sealedKeyv(secure), namespace: 'profiles' });
  await cache.set('user:42', { name: 'Ada' }, 60_000);
  const got = await cache.get('user:42');
  await secure.close();
  const under = secureStore(keyvBackend(new Keyv({ store: new Map(), throwOnErrors: true })), { keyring: Keyring.generate() });
  const id = await under.for({ subject: 'ada' }).create({ n: 1 });
  const state = await under.for({ subject: 'ada' }).load(id);
  await under.close();
  return `name=${got?.name} n=${String(state.n)}`;
}

main().then((detail) => console.log(`ok ${detail}`));
