/**
 * mcpSessions() in one process, over MemoryStore, with the real SDK client on 127.0.0.1: the
 * ordering of the initialize save, what creates a session and what does not, TTL and revocation
 * (injected clock, no sleeping), restore single-flight, prewarm, DELETE, reserved keys, the
 * web-standard entry point, option bounds. Cross-process failover lives in failover.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuditEvent, Keyring, MemoryStore, type RecordStore, type SaveRecordOptions, type SecureStore, type SessionState, secureStore } from '../../src/index.js';
import { type McpSessions, type McpSessionsOptions, mcpSessions } from '../../src/mcp/index.js';
import { INIT_KEY, LOG_LEVEL_KEY } from '../../src/mcp/reserved-keys.js';
import { codeOf } from '../support/codes.js';
import { buildDemoServer } from './demo-server.js';
import { resultText } from './harness.js';

const IDLE = 10 * 60_000;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function principal(request: Request) {
  const m = /^Bearer user:([a-z0-9-]{1,64})$/.exec(request.headers.get('authorization') ?? '');
  return m === null ? undefined : { subject: m[1]! };
}

interface World {
  clock: { t: number };
  backend: MemoryStore;
  events: MemoryStore;
  store: SecureStore;
  keyring: Keyring;
}

function world(): World {
  const clock = { t: Date.UTC(2030, 0, 1) };
  const now = () => clock.t;
  const backend = new MemoryStore({ now });
  const events = new MemoryStore({ now });
  const keyring = Keyring.generate({ now });
  const store = secureStore(backend, { keyring, now, namespace: 'mcp-unit', ttl: { idleMs: IDLE, sliding: true } });
  return { clock, backend, events, store, keyring };
}

/** One "instance": a handler over the shared world, served on 127.0.0.1. */
async function instance(w: World, name: string, extra: Partial<McpSessionsOptions> = {}) {
  let built = 0;
  const sessions = mcpSessions({
    store: w.store,
    createServer: (ctx) => {
      built++;
      return buildDemoServer(ctx, name);
    },
    principal,
    events: { backend: w.events, maxEventsPerSession: 50 },
    now: () => w.clock.t,
    ...extra,
  });
  const server = http.createServer((req, res) => void sessions.handleNodeRequest(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  cleanups.push(async () => {
    await sessions.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { sessions, url, built: () => built };
}

async function connect(url: URL, user: string, capabilities: Record<string, object> = {}) {
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer user:${user}` } } });
  const client = new Client({ name: `client-of-${user}`, version: '1.2.3' }, { capabilities });
  await client.connect(transport);
  cleanups.push(() => client.close().catch(() => undefined));
  return { client, transport, token: transport.sessionId! };
}

function sidOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;
}

function rawPost(url: URL, headers: Record<string, string>, body: unknown = { jsonrpc: '2.0', id: 7, method: 'tools/list', params: {} }) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
}

const initBody = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } };

describe('new sessions', () => {
  it('stores the negotiated version, client info and capabilities before the client gets the id', async () => {
    const w = world();
    // A backend whose writes wait for the test: the initialize answer must wait with them.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: RecordStore = Object.create(w.backend) as RecordStore;
    slow.saveRecord = async (id: string, value: SessionState | Uint8Array, options: SaveRecordOptions) => {
      await gate;
      return w.backend.saveRecord(id, value as SessionState, options);
    };
    const store = secureStore(slow, { keyring: w.keyring, now: () => w.clock.t, namespace: 'mcp-unit' });
    const { url } = await instance({ ...w, store }, 'A');
    let answered = false;
    const pending = rawPost(url, { authorization: 'Bearer user:alice' }, initBody).then(async (res) => {
      answered = true;
      return { res, text: await res.text() };
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(answered).toBe(false);
    release();
    const { res, text } = await pending;
    expect(res.status).toBe(200);
    expect(text).toContain('"protocolVersion":"2025-06-18"');
    const token = res.headers.get('mcp-session-id')!;
    const found = await w.store.inspect(sidOf(token));
    expect(found.state[INIT_KEY]).toEqual({ v: 1, protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
  });

  it('answers 401 without a principal, 400 to anything but initialize without an id, and creates nothing', async () => {
    const w = world();
    const { url, built } = await instance(w, 'A');
    expect((await rawPost(url, {}, initBody)).status).toBe(401);
    expect((await rawPost(url, { authorization: 'Bearer user:alice' })).status).toBe(400);
    expect((await fetch(url, { headers: { accept: 'text/event-stream', authorization: 'Bearer user:alice' } })).status).toBe(400);
    expect((await rawPost(url, { authorization: 'Bearer user:alice', 'mcp-session-id': 'never-issued' })).status).toBe(404);
    expect(built()).toBe(0);
    expect((await w.backend.listActive()).ids).toEqual([]);
  });

  it('saves the log level as it changes, and app state through update; reserved keys stay out of reach', async () => {
    const w = world();
    const { url } = await instance(w, 'A');
    const { client, token } = await connect(url, 'alice');
    await client.setLoggingLevel('error');
    await client.callTool({ name: 'remember', arguments: { key: 'a', value: '1' } });
    const found = await w.store.inspect(sidOf(token));
    expect(found.state[LOG_LEVEL_KEY]).toBe('error');
    expect(found.state.a).toBe('1');
    expect(JSON.parse(resultText(await client.callTool({ name: 'recall', arguments: {} })))).toEqual({ a: '1' });
    const bad = await client.callTool({ name: 'remember', arguments: { key: '$mcp:init', value: 'x' } });
    expect(bad.isError).toBe(true);
    expect((await w.store.inspect(sidOf(token))).state[INIT_KEY]).toMatchObject({ v: 1 });
  });
});

describe('session.update with a function', () => {
  it('runs it on the application state, resolves the state written, and loses no concurrent call', async () => {
    const w = world();
    const { url } = await instance(w, 'A');
    const { client, token } = await connect(url, 'alice');
    await client.callTool({ name: 'remember', arguments: { key: 'other', value: 'kept' } });
    expect(JSON.parse(resultText(await client.callTool({ name: 'increment', arguments: { key: 'n' } })))).toEqual({ other: 'kept', n: 1 });
    await Promise.all(Array.from({ length: 20 }, () => client.callTool({ name: 'increment', arguments: { key: 'n' } })));
    const { state } = await w.store.inspect(sidOf(token));
    expect(state.n).toBe(21);
    // The reserved keys are neither shown to the function nor writable through what it returns.
    const bad = await client.callTool({ name: 'increment', arguments: { key: '$mcp:logLevel' } });
    expect(bad.isError).toBe(true);
    expect((await w.store.inspect(sidOf(token))).state[LOG_LEVEL_KEY]).toBeUndefined();
  });
});

describe('requests with a session id', () => {
  it('a keyset mismatch between instances is a 404 to the client and an invalid_token audit event, never an onError', async () => {
    const w = world();
    const { url: urlA } = await instance(w, 'A');
    const { token } = await connect(urlA, 'alice');
    const audit: AuditEvent[] = [];
    const errors: string[] = [];
    // Instance B shares the backends but was started with another keyset.
    const storeB = secureStore(w.backend, { keyring: Keyring.generate(), now: () => w.clock.t, namespace: 'mcp-unit', onEvent: (e) => audit.push(e) });
    const { url: urlB } = await instance({ ...w, store: storeB }, 'B', { onError: (_err, where) => errors.push(where) });
    expect((await rawPost(urlB, { authorization: 'Bearer user:alice', 'mcp-session-id': token })).status).toBe(404);
    expect(audit).toEqual([{ type: 'invalid_token', operation: 'verifyToken' }]);
    expect(errors).toEqual([]);
  });

  it('idle expiry, sliding renewal and revocation are enforced before the SDK sees the request', async () => {
    const w = world();
    const { url } = await instance(w, 'A');
    const { client, token } = await connect(url, 'alice');
    const sid = sidOf(token);
    const first = (await w.store.inspect(sid)).expiresAt;
    w.clock.t += IDLE * 0.6; // less than half the idle window left: the next request renews it
    await client.listTools();
    expect((await w.store.inspect(sid)).expiresAt).toBe(w.clock.t + IDLE);
    expect((await w.store.inspect(sid)).expiresAt).toBeGreaterThan(first);
    w.clock.t += IDLE + 1;
    await expect(client.listTools()).rejects.toThrow();
    const second = await connect(url, 'alice');
    w.clock.t += 10;
    await w.store.revokeOwner('alice');
    await expect(second.client.listTools()).rejects.toThrow();
  });

  it('DELETE by another principal is 404 and leaves the session; by the owner it ends it', async () => {
    const w = world();
    const { url } = await instance(w, 'A');
    const { client, token, transport } = await connect(url, 'alice');
    const del = (user: string) => fetch(url, { method: 'DELETE', headers: { authorization: `Bearer user:${user}`, 'mcp-session-id': token } });
    expect((await del('mallory')).status).toBe(404);
    await client.listTools();
    await transport.terminateSession();
    await expect(w.store.inspect(sidOf(token))).rejects.toMatchObject({ code: 'not_found' });
    expect((await del('alice')).status).toBe(404);
  });

  it('restores a session created elsewhere once, even under concurrent requests', async () => {
    const w = world();
    const a = await instance(w, 'A');
    const { token } = await connect(a.url, 'alice', { elicitation: {} });
    const b = await instance(w, 'B');
    const call = (id: number) =>
      rawPost(b.url, { authorization: 'Bearer user:alice', 'mcp-session-id': token, 'mcp-protocol-version': '2025-06-18' }, { jsonrpc: '2.0', id, method: 'tools/list', params: {} }).then((r) => r.status);
    expect(await Promise.all([1, 2, 3, 4, 5].map(call))).toEqual([200, 200, 200, 200, 200]);
    expect(b.built()).toBe(1);
    expect(b.sessions.stats()).toMatchObject({ restored: 1, local: 1 });
  });

  it('prewarm restores active sessions at start-up, bounded, and the first request uses them', async () => {
    const w = world();
    const a = await instance(w, 'A');
    const tokens = [];
    for (let i = 0; i < 3; i++) tokens.push((await connect(a.url, `user-${i}`)).token);
    const b = await instance(w, 'B');
    expect(await b.sessions.prewarm({ limit: 2, concurrency: 2 })).toEqual({ restored: 2, skipped: 0, failed: 0 });
    expect(await b.sessions.prewarm({ limit: 10, concurrency: 2 })).toEqual({ restored: 1, skipped: 2, failed: 0 });
    expect(b.built()).toBe(3);
    const res = await rawPost(b.url, { authorization: 'Bearer user:user-1', 'mcp-session-id': tokens[1]!, 'mcp-protocol-version': '2025-06-18' });
    expect(res.status).toBe(200);
    expect(res.headers.get('mcp-session-id')).toBe(tokens[1]);
    expect(b.built()).toBe(3);
    // A prewarmed session still checks the principal on its first request.
    expect((await rawPost(b.url, { authorization: 'Bearer user:user-2', 'mcp-session-id': tokens[0]! })).status).toBe(404);
  });

  it('an event id of another session is refused', async () => {
    const w = world();
    const { url } = await instance(w, 'A');
    const one = await connect(url, 'alice');
    const two = await connect(url, 'alice');
    await one.client.callTool({ name: 'notify', arguments: { level: 'error', message: 'x' } });
    const log = (await w.events.listActive()).ids.filter((id) => id.startsWith(`ev.${sidOf(one.token)}.`) && !id.endsWith('.n'));
    expect(log.length).toBeGreaterThan(0);
    const foreign = `${(await import('../../src/mcp/event-store.js')).sessionEventTag(sidOf(one.token))}.1`;
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', authorization: 'Bearer user:alice', 'mcp-session-id': two.token, 'mcp-protocol-version': '2025-06-18', 'last-event-id': foreign },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    await res.body?.cancel();
  });
});

describe('the web-standard entry point', () => {
  it('serves the real client through fetch → handleRequest(Request) → Response', async () => {
    const w = world();
    const sessions: McpSessions = mcpSessions({ store: w.store, createServer: (ctx) => buildDemoServer(ctx, 'web'), principal, events: { backend: w.events } });
    cleanups.push(() => sessions.close());
    const transport = new StreamableHTTPClientTransport(new URL('http://mcp.invalid/mcp'), {
      requestInit: { headers: { authorization: 'Bearer user:alice' } },
      fetch: (input, init) => sessions.handleRequest(new Request(input, init)),
    });
    const client = new Client({ name: 'web', version: '1' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { ok: true } }));
    await client.connect(transport);
    cleanups.push(() => client.close());
    expect(JSON.parse(resultText(await client.callTool({ name: 'confirm', arguments: { question: '?' } })))).toMatchObject({ confirmed: true, instance: 'web' });
  });
});

describe('options', () => {
  it('a bad bound is refused with invalid_input, by the handler and by prewarm', async () => {
    const w = world();
    const base: McpSessionsOptions = { store: w.store, createServer: (ctx) => buildDemoServer(ctx, 'options'), principal };
    for (const bad of [{ maxLocalSessions: 0 }, { maxBodyBytes: Number.NaN }, { initTimeoutMs: 1.5 }]) {
      expect(codeOf(() => mcpSessions({ ...base, ...bad }))).toBe('invalid_input');
    }
    const sessions = mcpSessions(base);
    cleanups.push(() => sessions.close());
    await expect(sessions.prewarm({ concurrency: 33 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(sessions.prewarm({ limit: -1 })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
