/**
 * Rotating the encryption key of a running store, the way a fleet does it:
 * keyset file (wrapped by a passphrase) -> add a new key as `active` everywhere -> promote it ->
 * re-key every session -> retire the old key once no session needs it.
 * test/examples/encrypt-examples.test.ts runs it, so it never rots.
 *
 *   npx tsx examples/key-rotation.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Keyring, MemoryStore, passphraseProvider } from 'sealed-session-store';
import { EncryptedStore } from 'sealed-session-store/kit';

const say = (text: string) => console.log(text);

export async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'key-rotation-'));
  try {
    // In production the passphrase comes from your secret manager, and the file lives in keys/.
    const provider = passphraseProvider(process.env.KEYSET_PASSPHRASE ?? 'example passphrase: use a long random secret');
    const path = join(dir, 'sessions.keyset.json');

    say('1. Two app instances share one keyset file (created on first start, mode 0600, wrapped)');
    const ringA = await Keyring.fromFile(path, { provider, createIfMissing: true });
    const ringB = await Keyring.fromFile(path, { provider });
    const backend = new MemoryStore(); // stands in for Redis / PostgreSQL shared by both instances
    const appA = new EncryptedStore(backend, { keyring: ringA, namespace: 'example-app' });
    const appB = new EncryptedStore(backend, { keyring: ringB, namespace: 'example-app' });
    for (let i = 0; i < 5; i++) await appA.save(`session-${i}`, { user: `user-${i}`, cart: [] });
    const oldKid = ringA.primary('encrypt').kid;
    say(`   sessions per key: ${JSON.stringify(await appA.keyUsage())}`);

    say('2. Add a new key as ACTIVE (not primary yet) and let every instance reload');
    const added = await ringA.transaction((ring) => ring.rotate('encrypt', { activate: false }));
    await ringB.reload(); // or ringB.watch() to pick it up automatically
    say(`   ${added.kid} is ${ringB.get(added.kid)?.status} on instance B`);

    say('3. Promote it: new writes are sealed under it; old envelopes still open');
    await ringA.transaction((ring) => ring.promote(added.kid));
    await ringB.reload();
    await appB.update('session-0', { cart: ['book'] });
    say(`   session-0 after an update on B: ${JSON.stringify(await appA.load('session-0'))}`);

    say('4. Retiring the old key now is refused: sessions still need it');
    try {
      await appA.retireKey(oldKid);
    } catch (err) {
      say(`   refused (${(err as { code?: string }).code})`);
    }

    say('5. Re-key every session (resumable, keeps each expiry), then retire');
    const result = await appA.rekey({ batchSize: 2, onProgress: (p) => say(`   ...scanned ${p.scanned}`) });
    say(`   rekey: ${JSON.stringify(result)}`);
    say(`   sessions per key: ${JSON.stringify(await appA.keyUsage())}`);
    await appA.retireKey(oldKid);
    await ringB.reload();
    say(`   ${oldKid} is now ${ringB.get(oldKid)?.status}; every session still loads: ${JSON.stringify(await appB.load('session-4'))}`);
    say(`   encryptions per key in this process (nonce budget): ${JSON.stringify(appA.encryptionCounts()[added.kid])} under ${added.kid}`);
    await appA.close();
    say('Done.');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
