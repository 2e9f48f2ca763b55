/**
 * Sessions in Redis through the configuration factory (`sealed-session-store/config`): the same
 * configuration the `sealed-session` CLI reads, so an operator's `rekey` / `usage` see these
 * sessions. test/examples/examples.test.ts runs it against a real server.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/redis.ts
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Keyring } from 'sealed-session-store';
import { createSessionStore } from 'sealed-session-store/config';
import type { RedisStore } from 'sealed-session-store/redis';

const say = (text: string) => console.log(text);

export async function main(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  // A fresh prefix per run keeps the example away from real data. In production: a keyset file
  // (keyset: { path: 'keys/sessions.keyset.json', passphrase }) or simply createSessionStore(),
  // which reads SSS_ADAPTER=redis, REDIS_URL, SSS_KEYSET, SSS_KEYSET_PASSPHRASE from the environment.
  const prefix = process.env.SSS_PREFIX ?? `sss-example:${randomBytes(6).toString('hex')}:`;
  const { store, backend, close } = await createSessionStore({
    adapter: 'redis',
    url,
    prefix,
    namespace: 'example-redis',
    keyset: { keyring: Keyring.generate() },
  });
  const owner = { subject: 'alice' };
  const ids: string[] = [];
  try {
    say(`1. Connected to ${url}; sessions live under ${prefix}<id>`);
    for (let i = 0; i < 3; i++) ids.push(await store.for(owner).create({ visit: i }));
    const token = store.issueToken(ids[0]!, owner);

    say('2. Reconnect with the token (another process with the same config would do the same)');
    say(`   resume -> ${JSON.stringify((await store.resume(token, owner)).state)}`);

    say('3. What Redis holds: a hash per session, the value an opaque envelope');
    const rec = await backend.loadRecord(ids[0]!);
    const bytes = rec?.value instanceof Uint8Array ? rec.value : new Uint8Array();
    say(`   ${(backend as RedisStore).keyFor(ids[0]!)} -> ${bytes.length} bytes: ${Buffer.from(bytes.subarray(0, 24)).toString('hex')}…`);

    say('4. Rotate the encryption key and re-key every session');
    const oldKid = store.keyring.primary('encrypt').kid;
    await store.rotateKey('encrypt');
    const result = await store.rekey({ batchSize: 100 });
    say(`   re-sealed ${result.resealed} of ${result.scanned}; sessions per key: ${JSON.stringify(await store.keyUsage())}`);
    await store.retireKey(oldKid);
    say(`   old key ${oldKid} retired: no session needed it any more`);
  } finally {
    for (const id of ids) await store.for(owner).delete(id);
    await close(); // closes the store and quits the ioredis client the factory created
  }
  say('Done.');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
