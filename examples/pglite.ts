/**
 * The embedded persistent option: PGlite (PostgreSQL in WASM) in a data directory, no server.
 * Sessions survive a restart; the keyset file beside them (wrapped under a passphrase) is what
 * makes them readable again. test/examples/examples.test.ts runs it.
 *
 *   npx tsx examples/pglite.ts            (a temporary directory, removed at the end)
 *   SSS_PGLITE_DIR=./data npx tsx examples/pglite.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type SessionStoreConfig, createSessionStore } from 'sealed-session-store/config';

const say = (text: string) => console.log(text);

export async function main(): Promise<void> {
  const given = process.env.SSS_PGLITE_DIR;
  const dir = given ?? mkdtempSync(join(tmpdir(), 'sss-pglite-example-'));
  const config: SessionStoreConfig = {
    adapter: 'pglite',
    dataDir: join(dir, 'db'),
    namespace: 'example-pglite',
    // createIfMissing writes a new wrapped keyset on first start (mode 0600, under a lock).
    keyset: { path: join(dir, 'sessions.keyset.json'), passphrase: process.env.SSS_KEYSET_PASSPHRASE ?? 'example passphrase: use a long random secret', createIfMissing: true },
  };
  const owner = { subject: 'alice' };
  try {
    say(`1. Open PGlite in ${config.dataDir} (first start takes a few seconds)`);
    const first = await createSessionStore(config);
    const id = await first.store.for(owner).create({ theme: 'dark' });
    const token = first.store.issueToken(id, owner);
    say(`   created a session; ${(await first.store.listActive()).ids.length} live`);

    say('2. While this process holds the directory, a second opener is refused (no corruption)');
    try {
      await (await createSessionStore(config)).close();
    } catch (err) {
      say(`   second open -> ${(err as { code?: string }).code}`);
    }
    await first.close();

    say('3. "Restart": reopen the directory and resume with the token');
    const second = await createSessionStore(config);
    say(`   resume -> ${JSON.stringify((await second.store.resume(token, owner)).state)}`);
    await second.store.for(owner).delete(id);
    await second.close();
  } finally {
    if (given === undefined) rmSync(dir, { recursive: true, force: true });
  }
  say('Done.');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
