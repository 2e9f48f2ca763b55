// A consumer of the root entry: an application author's first lines (README quick start).
import { Keyring, MemoryStore, isSessionStoreError, secureStore } from 'sealed-session-store';

async function main(): Promise<string> {
  const store = secureStore(new MemoryStore(), { keyring: Keyring.generate(), namespace: 'consumer' });
  const alice = store.for({ subject: 'alice' });
  const id: string = await alice.create({ cart: [] });
  await alice.update(id, { cart: ['book'] });
  const token: string = store.issueToken(id, { subject: 'alice' });
  const { state } = await store.resume(token, { subject: 'alice' });
  const cart = state.cart;
  let refused = 'no';
  try {
    await store.for({ subject: 'mallory' }).load(id);
  } catch (err) {
    if (isSessionStoreError(err, 'owner_mismatch') || isSessionStoreError(err, 'not_found')) refused = err.code;
  }
  await store.close();
  return `cart=${JSON.stringify(cart)} mallory=${refused}`;
}

main().then((detail) => console.log(`ok ${detail}`));
