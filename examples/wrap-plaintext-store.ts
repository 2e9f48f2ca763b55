/**
 * Turning encryption on over a store that already holds plaintext sessions, without logging
 * anyone out: a migration window with `unsafeAcceptPlaintext`, a `rekey()` that seals every
 * session, then the strict store. test/examples/encrypt-examples.test.ts runs it.
 *
 *   npx tsx examples/wrap-plaintext-store.ts
 */
import { pathToFileURL } from 'node:url';
import { Keyring, MemoryStore } from 'sealed-session-store';
import { EncryptedStore } from 'sealed-session-store/kit';

const say = (text: string) => console.log(text);

export async function main(): Promise<void> {
  // Yesterday's deployment: sessions stored as plain JSON.
  const backend = new MemoryStore();
  for (let i = 0; i < 3; i++) await backend.save(`legacy-${i}`, { user: `user-${i}` });

  // In production: Keyring.fromFile('keys/sessions.keyset.json', { provider }) - see key-rotation.ts.
  const keyring = Keyring.generate();

  say('1. A strict EncryptedStore refuses plaintext records (someone could have planted them)');
  const strict = new EncryptedStore(backend, { keyring, namespace: 'example-app' });
  try {
    await strict.load('legacy-0');
  } catch (err) {
    say(`   load legacy-0 -> ${(err as { code?: string }).code}`);
  }

  say('2. Migration window: accept plaintext as is, seal on the next write');
  const migrating = new EncryptedStore(backend, { keyring, namespace: 'example-app', unsafeAcceptPlaintext: true });
  say(`   load legacy-1 -> ${JSON.stringify(await migrating.load('legacy-1'))} (and re-sealed on the way)`);
  await migrating.save('new-session', { user: 'new' });
  say(`   sessions per key: ${JSON.stringify(await migrating.keyUsage())}`);

  say('3. Seal the rest at once');
  const result = await migrating.rekey();
  say(`   rekey: resealed ${result.resealed}, already sealed ${result.current}, failed ${result.failed}`);
  say(`   sessions per key: ${JSON.stringify(await migrating.keyUsage())}`);

  say('4. Back to the strict store: every session opens, nothing is plaintext any more');
  for (const id of ['legacy-0', 'legacy-2', 'new-session']) say(`   ${id} -> ${JSON.stringify(await strict.load(id))}`);
  await strict.close();
  say('Done.');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
