// A consumer of ./testing (ESM only, with vitest): the suites a store author runs, typed; run here
// only as far as building a factory, since the suites register vitest tests.
import { MemoryStore } from 'sealed-session-store';
import { type StoreFactory, createFakeClock, runStoreContract, sampleState } from 'sealed-session-store/testing';

async function main(): Promise<string> {
  const clock = createFakeClock(1_000);
  const factory: StoreFactory = ({ now }) => new MemoryStore({ now });
  const store = await factory({ now: clock.now });
  await store.save('s1', sampleState());
  clock.advance(5);
  return `suite=${typeof runStoreContract} now=${clock.now()} keys=${Object.keys(await store.load('s1')).length > 0}`;
}

main().then((detail) => console.log(`ok ${detail}`));
