// A consumer of ./pglite: a real in-memory PGlite database under the secure store.
import { PGlite } from '@electric-sql/pglite';
import { Keyring, secureStore } from 'sealed-session-store';
import { PgliteStore } from 'sealed-session-store/pglite';

async function main(): Promise<string> {
  const db = await PGlite.create();
  const backend = new PgliteStore({ db });
  await backend.migrate();
  const store = secureStore(backend, { keyring: Keyring.generate(), namespace: 'consumer' });
  const alice = store.for({ subject: 'alice' });
  const id = await alice.create({ n: 7 });
  const state = await alice.load(id);
  await store.close();
  await db.close();
  return `n=${String(state.n)}`;
}

main().then((detail) => console.log(`ok ${detail}`));
