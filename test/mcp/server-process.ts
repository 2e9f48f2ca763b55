/**
 * One server instance for the cross-process tests: `mcpSessions()` over a Redis-backed
 * `secureStore`, on 127.0.0.1, printing `{"port":…}` once listening. Run with
 * `node --import tsx --import ./test/mcp/sdk-alias.mjs test/mcp/server-process.ts`.
 *
 * Env: REDIS_URL, SSS_PREFIX (key prefix), SSS_TEST_JWKS (cleartext keyset: TEST ONLY, shared by the
 * instances), SSS_TEST_INSTANCE (a name), SSS_TEST_MCP_SDK (newest | oldest).
 *
 * Authentication is a stand-in (`Authorization: Bearer user:<subject>`): tests need two principals,
 * not an OAuth server. `/admin/*` drives key rotation from the test; never expose such routes.
 */
import http from 'node:http';
import { Redis } from 'ioredis';
import { Keyring, secureStore } from '../../src/index.js';
import { RedisStore } from '../../src/backends/redis/index.js';
import { mcpSessions } from '../../src/mcp/index.js';
import { buildDemoServer } from './demo-server.js';

const instance = process.env.SSS_TEST_INSTANCE ?? 'X';
const prefix = process.env.SSS_PREFIX ?? 'ssstest:mcp:';
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
redis.on('error', () => {});
const keyring = Keyring.insecureFromCleartextJwks(JSON.parse(process.env.SSS_TEST_JWKS ?? 'null'));
const store = secureStore(new RedisStore({ client: redis, prefix: `${prefix}s:` }), {
  keyring,
  namespace: 'mcp-test',
  ttl: { idleMs: 10 * 60_000, sliding: true },
});
const mcp = mcpSessions({
  store,
  createServer: (ctx) => buildDemoServer(ctx, instance),
  principal: (request) => {
    const m = /^Bearer user:([a-z0-9-]{1,64})$/.exec(request.headers.get('authorization') ?? '');
    return m === null ? undefined : { subject: m[1]! };
  },
  events: { backend: new RedisStore({ client: redis, prefix: `${prefix}e:` }), maxEventsPerSession: 200 },
  onError: (err, where) => console.error(`[${instance}] ${where}:`, err),
});

async function admin(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let out: unknown;
  switch (url.pathname) {
    case '/admin/rotate':
      out = { sign: (await store.rotateKey('sign')).kid, encrypt: (await store.rotateKey('encrypt')).kid, hash: (await store.rotateKey('hash')).kid };
      break;
    case '/admin/rekey':
      out = { sessions: await store.rekey(), events: await mcp.events!.rekey() };
      break;
    case '/admin/keys':
      out = { keys: keyring.list(), sessions: await store.keyUsage(), events: await mcp.events!.keyUsage() };
      break;
    case '/admin/retire':
      await store.retireKey(url.searchParams.get('kid') ?? '', { force: true });
      out = { retired: url.searchParams.get('kid') };
      break;
    case '/admin/stats':
      out = mcp.stats();
      break;
    default:
      res.writeHead(404).end();
      return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
}

const server = http.createServer((req, res) => {
  const work = req.url?.startsWith('/admin/') === true ? admin(req, res) : mcp.handleNodeRequest(req, res);
  work.catch((err: unknown) => {
    console.error(`[${instance}]`, err);
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  });
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  // Which SDK copy this process really loaded (the alias hook rewrites the specifier for 'oldest').
  const sdk = import.meta.resolve('@modelcontextprotocol/sdk/server/mcp.js').includes('/sdk-oldest/') ? 'oldest' : 'newest';
  console.log(JSON.stringify({ instance, sdk, port: typeof addr === 'object' && addr !== null ? addr.port : 0 }));
});
