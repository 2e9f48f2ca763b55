/**
 * `npm start`: a narrated tour of sealed-session-store on the embedded default (MemoryStore), no
 * services needed. Each step is what an application (or an MCP server) does; the clock is
 * injected, so expiry shows without waiting. test/examples/walkthrough.test.ts runs it too.
 */
import { pathToFileURL } from 'node:url';
import { Keyring, MemoryStore, isSessionStoreError, secureStore } from 'sealed-session-store';

const say = (text: string) => console.log(text);
const MINUTE = 60_000;

async function outcome(fn: () => Promise<unknown>): Promise<string> {
  try {
    const value = await fn();
    return `ok ${JSON.stringify(value)}`;
  } catch (err) {
    if (isSessionStoreError(err)) return `${err.code}${err.message === 'session revoked' ? ' (session revoked)' : ''}`;
    throw err;
  }
}

export async function main(): Promise<void> {
  let now = Date.UTC(2025, 0, 1, 9, 0, 0);
  const clock = () => now;

  say('1. Wrap an existing store');
  // Any store keeping the record-level contract: MemoryStore here, RedisStore / PostgresStore /
  // PgliteStore or your own in production. secureStore() stacks ownership, TTL and encryption on it.
  const backend = new MemoryStore({ now: clock });
  const keyring = Keyring.generate({ now: clock }); // in production: a keyset file (sealed-session keys generate)
  const store = secureStore(backend, { keyring, namespace: 'walkthrough', now: clock, ttl: { idleMs: 30 * MINUTE, absoluteMs: 12 * 60 * MINUTE } });
  say(`   secureStore(new MemoryStore(), { keyring }) -> keys: ${keyring.list().map((k) => `${k.purpose} ${k.kid}`).join(', ')}`);

  say('2. Alice connects: create her session and its token');
  const alice = { subject: 'alice', clientId: 'chat-app' };
  const id = await store.for(alice).create({ protocolVersion: '2025-06-18', user: 'alice', cart: [] });
  const token = store.issueToken(id, alice);
  say(`   session ${id.slice(0, 10)}… (128+ random bits), token ${token.slice(0, 30)}… signed with key ${keyring.primary('sign').kid}`);

  say('3. Alice reconnects with her token');
  say(`   resume(token, alice) -> ${await outcome(async () => (await store.resume(token, alice)).state)}`);

  say('4. A stranger with the stolen token and id is refused');
  const mallory = { subject: 'mallory', clientId: 'chat-app' };
  say(`   resume(token, mallory) -> ${await outcome(() => store.resume(token, mallory))}`);
  say(`   mallory.load(id) -> ${await outcome(() => store.for(mallory).load(id))}`);

  say('5. A partial update merges atomically into the state');
  await store.for(alice).update(id, { cart: ['book'], lastTool: 'search' });
  say(`   load -> ${await outcome(() => store.for(alice).load(id))}`);

  say('6. What the backend actually holds: an envelope, never the state');
  const raw = await backend.loadRecord(id);
  const bytes = raw?.value instanceof Uint8Array ? raw.value : new Uint8Array();
  const buf = Buffer.from(bytes);
  say(`   ${bytes.length} bytes: version ${buf[0]}, algorithm ${buf[1]}, kid "${buf.subarray(3, 3 + (buf[2] ?? 0)).toString('latin1')}", then nonce + ciphertext + tag`);
  say(`   hex    ${buf.subarray(0, 32).toString('hex')}…`);
  say(`   base64 ${buf.subarray(32, 80).toString('base64')}…`);
  say(`   contains "alice"? ${buf.includes('alice')}  contains "book"? ${buf.includes('book')}`);

  say('7. Rotate the encryption key via the API, re-key, retire the old key');
  const oldKid = keyring.primary('encrypt').kid;
  const bob = { subject: 'bob' };
  const bobId = await store.for(bob).create({ user: 'bob' });
  const fresh = await store.rotateKey('encrypt');
  say(`   rotateKey('encrypt') -> new primary ${fresh.kid}; ${oldKid} stays active (old envelopes still open)`);
  say(`   keyUsage before -> ${JSON.stringify(await store.keyUsage())}`);
  const result = await store.rekey({ batchSize: 100 });
  say(`   rekey -> scanned ${result.scanned}, re-sealed ${result.resealed}, already current ${result.current}, failed ${result.failed}`);
  say(`   keyUsage after -> ${JSON.stringify(await store.keyUsage())}`);
  await store.retireKey(oldKid);
  say(`   retireKey(${oldKid}) -> ${keyring.get(oldKid)?.status} (refused while any session still needed it)`);
  say(`   load after re-key -> ${await outcome(() => store.for(alice).load(id))}`);

  say('8. Revocation: "log out everywhere" for alice');
  now += 1000;
  say(`   revokeOwner('alice') -> marked, and deleted ${await store.revokeOwner('alice')} session(s)`);
  say(`   resume(token, alice) -> ${await outcome(() => store.resume(token, alice))}`);
  say(`   bob is not affected -> ${await outcome(() => store.for(bob).load(bobId))}`);

  say('9. Expiry: 31 idle minutes later (injected clock, no waiting)');
  now += 31 * MINUTE;
  say(`   bob.load -> ${await outcome(() => store.for(bob).load(bobId))}`);
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
