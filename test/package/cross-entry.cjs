// Loads the built package by its own name (self-reference through package.json `exports`) in one
// format, `node test/package/cross-entry.cjs esm|cjs`, passes objects between its entries and
// prints what it saw as one JSON line. test/package/cross-entry.test.ts builds dist/ and asserts.
'use strict';

const format = process.argv[2];
const load = format === 'esm' ? (name) => import(name) : async (name) => require(name);

function thrown(fn) {
  try {
    const out = fn();
    if (out && typeof out.then === 'function') return out.then(() => undefined, (e) => e);
  } catch (e) {
    return e;
  }
  return undefined;
}

async function main() {
  const root = await load('sealed-session-store');
  const kit = await load('sealed-session-store/kit');
  const tokens = await load('sealed-session-store/tokens');
  const config = await load('sealed-session-store/config');
  const mcp = await load('sealed-session-store/mcp');
  const redis = await load('sealed-session-store/redis');
  const postgres = await load('sealed-session-store/postgres');
  const pglite = await load('sealed-session-store/pglite');
  const seen = {};

  // One store and keyring built by the root entry.
  const keyring = root.Keyring.generate();
  const backend = new root.MemoryStore();
  const store = root.secureStore(backend, { keyring, namespace: 'app' });
  const alice = { subject: 'alice' };

  // ./config over the root's keyring: the classes it builds are the root's.
  const created = await config.createSessionStore({ adapter: 'memory', namespace: 'app', keyset: { keyring } });
  seen.configStoreIsRootSecureStore = created.store instanceof root.SecureStore;
  seen.configBackendIsRootMemoryStore = created.backend instanceof root.MemoryStore;
  seen.configKeepsRootKeyring = created.keyring === keyring;

  // Module state seen once: encryptions are counted per key in one process-wide place, so a save
  // through the config-built store shows in the root-built store's count (a split copy would not).
  const total = () => Object.values(store.stats().encryptions).reduce((a, b) => a + b, 0);
  await store.for(alice).create({ n: 1 });
  const before = total();
  await created.store.for(alice).create({ n: 2 });
  seen.encryptionsSeenAcrossEntries = total() - before;
  await created.close();

  // ./mcp over the root-built store and keyring.
  const sessions = mcp.mcpSessions({
    store,
    createServer: () => {
      throw new Error('no session is created here');
    },
    events: { backend: new root.MemoryStore() },
  });
  seen.mcpPrewarm = await sessions.prewarm();
  const anonymous = await sessions.handleRequest(new Request('http://localhost/mcp', { method: 'POST', body: '{}' }));
  seen.mcpAnonymousStatus = anonymous.status;
  await sessions.close();
  const eventBackend = new root.MemoryStore();
  const log = new mcp.McpEventLog({ backend: eventBackend, keyring, namespace: 'app:events' });
  const events = log.forSession('s1', Date.now() + 60_000);
  const eventId = await events.storeEvent('stream', { jsonrpc: '2.0', method: 'ping' });
  const replayed = [];
  await events.replayEventsAfter(eventId, { send: async (id) => void replayed.push(id) });
  const rawEvent = (await eventBackend.listActive({ limit: 10 })).ids.length;
  seen.mcpEventsSealedInRootBackend = rawEvent > 0;
  await log.close();

  // Errors thrown by one entry are the classes of another.
  const tokenError = thrown(() => tokens.verifyCompact('not.a.token', { typ: tokens.TOKEN_TYP, key: () => new Uint8Array(32) }));
  seen.tokensErrorIsRootClass = [tokenError instanceof root.InvalidTokenError, tokenError instanceof root.errors.InvalidTokenError, tokenError?.constructor === root.InvalidTokenError];
  const kitError = thrown(() => kit.assertSessionId(''));
  seen.kitErrorIsRootClass = [kitError instanceof root.InvalidInputError, kitError?.constructor === root.errors.InvalidInputError];
  const configError = await thrown(() => config.createSessionStore({ adapter: 'nope' }));
  seen.configErrorIsRootClass = [configError instanceof config.ConfigError, configError instanceof root.InvalidInputError, configError?.code];
  const codec = mcp.requestStateCodec({ keyring, namespace: 'app' });
  const mcpError = thrown(() => codec.open('s1.garbage'));
  seen.mcpErrorIsRootClass = [mcpError instanceof root.IntegrityError, mcpError?.constructor === root.IntegrityError, mcpError?.code];
  const rootError = await thrown(() => store.for({ subject: 'mallory' }).load('no-such-id'));
  seen.rootErrorIsErrorsNamespace = [rootError instanceof root.errors.NotFoundError, rootError instanceof root.SessionStoreError, root.isSessionStoreError(rootError, 'not_found')];

  // Classes of one entry extend the classes of another.
  seen.backendsExtendKit = [
    root.MemoryStore.prototype instanceof kit.BackendStore,
    redis.RedisStore.prototype instanceof kit.BackendStore,
    postgres.PostgresStore.prototype instanceof kit.BackendStore,
    pglite.PgliteStore.prototype instanceof kit.BackendStore,
    kit.BackendStore.prototype instanceof kit.VersionedStore,
  ];
  // A kit layer over a root backend, keyed by the root keyring, read through kit's CAS.
  const layered = new kit.TtlStore(new kit.EncryptedStore(new root.MemoryStore(), { keyring, namespace: 'layer' }));
  await layered.save('id-1', { hello: 'world' });
  seen.kitLayersOverRootBackend = (await layered.load('id-1')).hello;
  seen.tokensSessionId = typeof tokens.createSessionId() === 'string';

  if (format === 'esm') {
    // Both formats in one process are two copies (the dual-package hazard): the brand still
    // recognises the other copy's errors, while a subclass `instanceof` cannot.
    const cjsTokens = require('sealed-session-store/tokens');
    const other = thrown(() => cjsTokens.verifyCompact('not.a.token', { typ: cjsTokens.TOKEN_TYP, key: () => new Uint8Array(32) }));
    seen.brandAcrossFormats = [root.isSessionStoreError(other, 'invalid_token'), other instanceof root.SessionStoreError, other instanceof root.InvalidTokenError];
  }

  process.stdout.write(`${JSON.stringify(seen)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
