/**
 * Ownership on reconnect: a session belongs to the owner that created it. The owner presents the
 * token it was given and gets its session back; anybody else — another user, or the same user from
 * another client — is refused, even holding a valid token or the session id.
 * test/examples/examples.test.ts runs it, so it never rots.
 *
 *   npx tsx examples/ownership.ts
 */
import { pathToFileURL } from 'node:url';
import { Keyring, MemoryStore, isSessionStoreError, secureStore } from 'sealed-session-store';

const say = (text: string) => console.log(text);

async function refused(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
    say(`   ${what} -> ALLOWED (this should never happen)`);
    process.exitCode = 1;
  } catch (err) {
    if (!isSessionStoreError(err)) throw err;
    say(`   ${what} -> refused: ${err.code}`);
  }
}

export async function main(): Promise<void> {
  const store = secureStore(new MemoryStore(), { keyring: Keyring.generate(), namespace: 'ownership-example' });
  const alice = { subject: 'alice', clientId: 'desktop-app' };
  const mallory = { subject: 'mallory', clientId: 'desktop-app' };

  say('1. Alice connects: the server creates her session and hands her a token');
  const sessionId = await store.for(alice).create({ protocolVersion: '2025-06-18', cart: ['book'] });
  const token = store.issueToken(sessionId, alice);
  say(`   session id ${sessionId.slice(0, 8)}…, token ${token.slice(0, 24)}… (${token.length} chars)`);

  say('2. Alice reconnects with her token: verified and resumed in one call');
  const resumed = await store.resume(token, alice);
  say(`   resume(token, alice) -> ${JSON.stringify(resumed.state)}`);

  say('3. Mallory steals the token and the id: every door is closed');
  await refused('resume(alice token, mallory)', () => store.resume(token, mallory));
  await refused('mallory.load(alice session id)', () => store.for(mallory).load(sessionId));
  await refused('mallory.save over alice session', () => store.for(mallory).save(sessionId, { cart: [] }));
  await refused('mallory.delete(alice session)', () => store.for(mallory).delete(sessionId));

  say('4. Alice from another client is another owner (the session is bound to the client id too)');
  await refused('resume(token, alice on mobile)', () => store.resume(token, { subject: 'alice', clientId: 'mobile-app' }));

  say('5. A tampered token is no token');
  await refused('resume(tampered token, alice)', () => store.resume(`${token.slice(0, -3)}AAA`, alice));

  say(`6. Alice's session is untouched: ${JSON.stringify(await store.for(alice).load(sessionId))}`);
  await store.close();
  say('Done.');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
