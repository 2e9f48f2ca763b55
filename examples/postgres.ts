/**
 * Sessions in PostgreSQL through the configuration factory. The table is created by `migrate:
 * true` here; in production run the migration as a deploy step (the serving role may lack DDL
 * rights) and leave it off. test/examples/examples.test.ts runs it against a real server.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx examples/postgres.ts
 */
import { pathToFileURL } from 'node:url';
import { Keyring } from 'sealed-session-store';
import { createSessionStore } from 'sealed-session-store/config';

const say = (text: string) => console.log(text);

export async function main(): Promise<void> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const table = process.env.SSS_TABLE ?? 'sealed_sessions_example';
  const { store, backend, close } = await createSessionStore({
    adapter: 'postgres',
    url,
    table,
    migrate: true,
    namespace: 'example-postgres',
    keyset: { keyring: Keyring.generate() },
  });
  const owner = { subject: 'alice', clientId: 'web' };
  let id: string | undefined;
  try {
    say(`1. Connected; sessions in table ${table} (id, value bytea, version, expires_at)`);
    id = await store.for(owner).create({ step: 'login' });
    const token = store.issueToken(id, owner);

    say('2. An atomic partial update, then a reconnect with the token');
    await store.for(owner).update(id, { step: 'checkout' });
    say(`   resume -> ${JSON.stringify((await store.resume(token, owner)).state)}`);

    say('3. The row holds an envelope, never the state');
    const rec = await backend.loadRecord(id);
    const bytes = rec?.value instanceof Uint8Array ? rec.value : new Uint8Array();
    say(`   value: ${bytes.length} bytes, \\x${Buffer.from(bytes.subarray(0, 20)).toString('hex')}…; contains "checkout"? ${Buffer.from(bytes).includes('checkout')}`);

    say(`4. Live sessions: ${(await store.listActive()).ids.length}; sessions per key: ${JSON.stringify(await store.keyUsage())}`);
  } finally {
    if (id !== undefined) await store.for(owner).delete(id);
    await close(); // closes the store and ends the pg Pool the factory created
  }
  say('Done.');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
