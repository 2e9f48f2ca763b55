/**
 * `npm start`: a narrated tour of sealed-session-store on the embedded default (MemoryStore).
 * Runs from source on a fresh clone; test/examples/walkthrough.test.ts runs it too.
 */
import { pathToFileURL } from 'node:url';
import { MemoryStore, isSessionStoreError } from 'sealed-session-store';

const say = (text: string) => console.log(text);

export async function main(): Promise<void> {
  let now = Date.now();
  const store = new MemoryStore({ now: () => now });

  say('1. Save a session and load it back');
  await store.save('session-1', { protocolVersion: '2025-06-18', user: 'alice' }, { ttlMs: 30 * 60_000 });
  say(`   load -> ${JSON.stringify(await store.load('session-1'))}`);

  say('2. A partial update merges atomically');
  await store.update('session-1', { lastTool: 'search' });
  say(`   load -> ${JSON.stringify(await store.load('session-1'))}`);

  say('3. Expiry: 31 minutes later the session is expired, not missing');
  now += 31 * 60_000;
  try {
    await store.load('session-1');
  } catch (err) {
    if (isSessionStoreError(err)) say(`   load -> ${err.code}`);
  }
  say(`   cleanupExpired -> removed ${await store.cleanupExpired()}`);

  await store.close();
  say('Done.');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
