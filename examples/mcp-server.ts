/**
 * An MCP server (Streamable HTTP) whose sessions are owner-bound, sealed, and survive a restart or
 * a move to another instance.
 *
 *   npx tsx examples/mcp-server.ts
 *       one process, sessions in memory (lost when it exits)
 *
 *   REDIS_URL=redis://127.0.0.1:6379 SSS_KEYSET=./mcp.keyset.json SSS_KEYSET_PASSPHRASE='long random' \
 *   PORT=3001 npx tsx examples/mcp-server.ts      (and again with PORT=3002, behind any balancer)
 *       sessions, their events (Last-Event-ID) and app state in Redis, sealed; any instance
 *       continues any session. All instances must share the keyset (the file is created if missing).
 *
 * Try it: `npx @modelcontextprotocol/inspector`, transport "Streamable HTTP", URL
 * http://127.0.0.1:3000/mcp, header `Authorization: Bearer alice-demo-token`.
 * test/examples/mcp-server.test.ts runs this file and talks to it with the SDK client.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { Keyring, MemoryStore, type Owner, type RecordStore, isSessionStoreError, passphraseProvider, secureStore } from 'sealed-session-store';
import { type McpSessionContext, mcpSessions } from 'sealed-session-store/mcp';

/**
 * DEMO AUTHENTICATION ONLY. A session never replaces authentication: put your real bearer-token
 * check here (or the SDK's `requireBearerAuth` middleware, whose `req.auth` the handler reads by
 * default) and return the principal it proves.
 */
const DEMO_USERS: Record<string, string> = { 'alice-demo-token': 'alice', 'bob-demo-token': 'bob' };
function principal(request: Request): Owner | undefined {
  const m = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '');
  const subject = m === null ? undefined : DEMO_USERS[m[1]!];
  return subject === undefined ? undefined : { subject };
}

/** One McpServer per session; tools reach the session's state through `session`. */
function buildServer(session: McpSessionContext, instance: string): McpServer {
  const server = new McpServer({ name: 'sealed-session-demo', version: '1.0.0' }, { capabilities: { logging: {} } });
  const text = (value: unknown) => ({ content: [{ type: 'text' as const, text: typeof value === 'string' ? value : JSON.stringify(value) }] });

  // A read-modify-write goes through `update(fn)`: the function runs inside the store's
  // compare-and-swap loop (again on every retry, so it stays pure), and no concurrent call of this
  // session, on any instance, is lost. Reading with state() and writing with update(value) would be.
  server.registerTool('count', { description: 'Adds one to this session’s counter' }, async () => {
    try {
      const { count } = await session.update((s) => ({ count: (typeof s.count === 'number' ? s.count : 0) + 1 }));
      return text({ count, instance }); // sealed, in the store: any instance sees it
    } catch (err) {
      // Other writers of this session won every attempt: nothing was written; the client may retry.
      if (isSessionStoreError(err, 'conflict')) return { ...text({ error: 'conflict' }), isError: true };
      throw err;
    }
  });

  server.registerTool('note', { description: 'Keeps a note in the session', inputSchema: { note: z.string().max(500) } }, async ({ note }) => {
    const { notes } = await session.update((s) => {
      const list = Array.isArray(s.notes) ? s.notes.filter((n): n is string => typeof n === 'string') : [];
      return { notes: [...list, note].slice(-20) };
    });
    return text({ notes: Array.isArray(notes) ? notes.length : 0 });
  });

  server.registerTool('where', { description: 'Which instance answered, and whether it restored the session' }, async () =>
    text({ instance, restored: session.restored }),
  );
  return server;
}

export interface ExampleServer {
  url: string;
  backend: 'memory' | 'redis';
  close(): Promise<void>;
}

export async function start(env: NodeJS.ProcessEnv = process.env): Promise<ExampleServer> {
  const instance = env.INSTANCE ?? `pid-${process.pid}`;
  const closers: Array<() => Promise<unknown>> = [];
  let sessionsBackend: RecordStore;
  let eventsBackend: RecordStore;
  let keyring: Keyring;
  if (env.REDIS_URL !== undefined && env.REDIS_URL !== '') {
    // Loaded only when asked for: the memory mode needs neither ioredis nor a server.
    const { Redis } = await import('ioredis');
    const { RedisStore } = await import('sealed-session-store/redis');
    const client = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2 });
    closers.push(() => client.quit());
    const prefix = env.SSS_PREFIX ?? 'mcp-demo:';
    sessionsBackend = new RedisStore({ client, prefix: `${prefix}s:` });
    // Events in their own key space, so the session store's listing and re-key never meet them.
    eventsBackend = new RedisStore({ client, prefix: `${prefix}e:` });
    if (env.SSS_KEYSET !== undefined && env.SSS_KEYSET_PASSPHRASE !== undefined) {
      keyring = await Keyring.fromFile(env.SSS_KEYSET, { provider: passphraseProvider(env.SSS_KEYSET_PASSPHRASE), createIfMissing: true });
    } else {
      console.warn('SSS_KEYSET / SSS_KEYSET_PASSPHRASE not set: keys live in this process only, so no other instance can open its sessions.');
      keyring = Keyring.generate();
    }
  } else {
    sessionsBackend = new MemoryStore();
    eventsBackend = new MemoryStore();
    keyring = Keyring.generate();
  }

  const store = secureStore(sessionsBackend, { keyring, namespace: 'mcp-demo', ttl: { idleMs: 30 * 60_000, absoluteMs: 12 * 3600_000, sliding: true } });
  const sessions = mcpSessions({
    store,
    principal,
    createServer: (session) => buildServer(session, instance),
    events: { backend: eventsBackend, maxEventsPerSession: 500 },
    onError: (err, where) => console.error(`[${instance}] ${where}:`, err instanceof Error ? err.message : err),
  });
  if (env.PREWARM === '1') console.log(`prewarmed ${JSON.stringify(await sessions.prewarm({ limit: 200, concurrency: 4 }))}`);

  const server = http.createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    sessions.handleNodeRequest(req, res).catch((err: unknown) => {
      console.error(`[${instance}]`, err);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(Number(env.PORT ?? 3000), env.HOST ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${env.HOST ?? '127.0.0.1'}:${port}/mcp`,
    backend: sessionsBackend instanceof MemoryStore ? 'memory' : 'redis',
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await sessions.close();
      await store.close();
      for (const close of closers) await close();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const running = await start();
  console.log(`MCP server listening on ${running.url} (sessions: ${running.backend})`);
  const stop = () => void running.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
