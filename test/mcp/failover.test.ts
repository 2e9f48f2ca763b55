/**
 * The promise of sealed-session-store/mcp, proven with the real SDK client over Streamable HTTP:
 * two server instances in separate processes share a Redis-backed secureStore behind a proxy; the
 * client initializes on A, writes app state, answers an elicitation, sets its log level; A dies by
 * SIGKILL; the proxy sends traffic to B, where tool calls, the GET stream's resume with
 * Last-Event-ID, the log level and the state all carry on. Then the attacks, the plaintext scan,
 * DELETE, and key rotation. Runs on the oldest and the newest SDK of the supported range.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../src/index.js';
import { REDIS_URL, serviceSkipReason, uniqueSuffix } from '../support/services.js';
import { type Instance, type Proxy, type SdkVersion, loadClientSdk, resultText, startInstance, startProxy, waitFor } from './harness.js';

const skip = await serviceSkipReason('redis');

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

/** Every byte stored under the prefix (values of every field of every key). */
async function valuesUnder(redis: Redis, prefix: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const key of await keysUnder(redis, prefix)) {
    const type = await redis.type(key);
    if (type === 'hash') out.push(...Object.values(await redis.hgetallBuffer(key)));
    else if (type === 'string') out.push((await redis.getBuffer(key)) ?? Buffer.alloc(0));
    else out.push(Buffer.from(`<${type}>`));
  }
  return out;
}

for (const sdk of ['oldest', 'newest'] as SdkVersion[]) {
  describe.skipIf(skip !== undefined)(`MCP failover across processes (SDK ${sdk})`, () => {
    const prefix = `ssstest:mcp:${uniqueSuffix()}:`;
    let redis: Redis;
    let a: Instance;
    let b: Instance;
    let proxy: Proxy;

    beforeAll(async () => {
      redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
      const env = {
        REDIS_URL,
        SSS_PREFIX: prefix,
        SSS_TEST_JWKS: JSON.stringify(Keyring.generate().insecureExportCleartextJwks()),
        SSS_TEST_MCP_SDK: sdk,
      };
      [a, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
      proxy = await startProxy(a.port);
      expect([a.sdk, b.sdk]).toEqual([sdk, sdk]);
    });

    afterAll(async () => {
      for (const i of [a, b]) if (i !== undefined && i.child.exitCode === null && i.child.signalCode === null) i.child.kill('SIGKILL');
      await proxy?.close();
      if (redis !== undefined) {
        const keys = await keysUnder(redis, prefix);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      }
    });

    it('a session survives SIGKILL of its instance: calls, elicitation, log level, GET resume and state continue on B', async () => {
      const { Client, StreamableHTTPClientTransport, types } = await loadClientSdk(sdk);
      const transport = new StreamableHTTPClientTransport(proxy.url, {
        requestInit: { headers: { authorization: 'Bearer user:alice' } },
        reconnectionOptions: { initialReconnectionDelay: 100, maxReconnectionDelay: 500, reconnectionDelayGrowFactor: 1.5, maxRetries: 20 },
      });
      const client = new Client({ name: 'sss-failover-client', version: '9.9.9' }, { capabilities: { elicitation: {} } });
      let elicitations = 0;
      client.setRequestHandler(types.ElicitRequestSchema, async () => {
        elicitations++;
        return { action: 'accept', content: { ok: true } };
      });
      const logs: string[] = [];
      client.setNotificationHandler(types.LoggingMessageNotificationSchema, (n) => {
        logs.push(String(n.params.data));
      });
      const errors: unknown[] = [];
      client.onerror = (e) => errors.push(e);

      // --- on A
      await client.connect(transport);
      const token = transport.sessionId!;
      expect(token.split('.')).toHaveLength(3); // a signed token, not a bare random id
      expect(JSON.parse(resultText(await client.callTool({ name: 'whoami', arguments: {} })))).toEqual({ instance: 'A', restored: false });
      await client.callTool({ name: 'remember', arguments: { key: 'color', value: 'teal-7f3a9c' } });
      const confirmed = JSON.parse(resultText(await client.callTool({ name: 'confirm', arguments: { question: 'Proceed?' } })));
      expect(confirmed).toMatchObject({ action: 'accept', confirmed: true, instance: 'A' });
      await client.setLoggingLevel('warning');
      // The GET stream is open on A; an event on it gives the client a Last-Event-ID.
      await waitFor('the GET stream on A', () => proxy.seen.some((r) => r.method === 'GET' && r.target === a.port && r.status === 200));
      await client.callTool({ name: 'notify', arguments: { level: 'error', message: 'from-A' } });
      await client.callTool({ name: 'notify', arguments: { level: 'info', message: 'below-level-A' } });
      await waitFor('the event from A', () => logs.includes('from-A'));

      // --- A dies; the balancer sends everything to B. GET resumes are held until B has news.
      let openGate!: () => void;
      proxy.gate = new Promise((resolve) => {
        openGate = resolve;
      });
      a.child.kill('SIGKILL');
      proxy.target = b.port;

      expect(JSON.parse(resultText(await client.callTool({ name: 'whoami', arguments: {} })))).toEqual({ instance: 'B', restored: true });
      // Sent while the client's GET stream is down: stored in the shared event store, replayed on resume.
      await client.callTool({ name: 'notify', arguments: { level: 'error', message: 'from-B-while-away' } });
      await client.callTool({ name: 'notify', arguments: { level: 'info', message: 'below-level-B' } });
      openGate();
      proxy.gate = undefined;
      await waitFor('the replayed event on B', () => logs.includes('from-B-while-away'));
      const resume = proxy.seen.find((r) => r.method === 'GET' && r.target === b.port && r.lastEventId !== undefined);
      expect(resume?.status).toBe(200);
      expect(logs).not.toContain('below-level-A');
      expect(logs).not.toContain('below-level-B'); // the log level was restored on B

      // State written on A, elicitation (client capabilities) on B.
      expect(JSON.parse(resultText(await client.callTool({ name: 'recall', arguments: {} })))).toEqual({ color: 'teal-7f3a9c', confirmed: true, confirmations: 1 });
      const again = JSON.parse(resultText(await client.callTool({ name: 'confirm', arguments: { question: 'Again?' } })));
      expect(again).toMatchObject({ action: 'accept', confirmed: true, instance: 'B' });
      expect(elicitations).toBe(2);
      expect(JSON.parse(resultText(await client.callTool({ name: 'recall', arguments: {} })))).toMatchObject({ confirmations: 2 });
      expect(transport.sessionId).toBe(token);

      // --- attacks: every failed check is the same 404, and nothing is created
      const post = (headers: Record<string, string>) =>
        fetch(proxy.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18', ...headers },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'recall', arguments: {} } }),
        });
      const bodies = new Set<string>();
      const keysBefore = (await keysUnder(redis, prefix)).sort();
      const other = await post({ authorization: 'Bearer user:mallory', 'mcp-session-id': token });
      expect(other.status).toBe(404);
      bodies.add(await other.text());
      const last = token.at(-1) === 'A' ? 'B' : 'A';
      const tampered = await post({ authorization: 'Bearer user:alice', 'mcp-session-id': token.slice(0, -1) + last });
      expect(tampered.status).toBe(404);
      bodies.add(await tampered.text());
      const madeUp = await post({ authorization: 'Bearer user:alice', 'mcp-session-id': 'b3f1c9a0-made-up-session-id' });
      expect(madeUp.status).toBe(404);
      bodies.add(await madeUp.text());
      const getOther = await fetch(proxy.url, { headers: { accept: 'text/event-stream', authorization: 'Bearer user:mallory', 'mcp-session-id': token } });
      expect(getOther.status).toBe(404);
      bodies.add(await getOther.text());
      expect(bodies.size).toBe(1); // no detail of which check failed
      const anonymous = await post({ 'mcp-session-id': token });
      expect(anonymous.status).toBe(401);
      expect((await keysUnder(redis, prefix)).sort()).toEqual(keysBefore);

      // --- the backend holds no plaintext: app state, client info, capabilities, tokens, session ids
      const sid = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;
      const values = await valuesUnder(redis, prefix);
      expect(values.length).toBeGreaterThan(3);
      const all = Buffer.concat(values);
      for (const secret of ['teal-7f3a9c', 'sss-failover-client', 'elicitation', 'from-B-while-away', 'alice', token, token.split('.')[2]!, sid]) {
        expect(all.includes(Buffer.from(secret)), `backend values contain ${secret.slice(0, 20)}`).toBe(false);
      }

      // --- DELETE ends a session in the store (another principal's session, on B)
      const bobTransport = new StreamableHTTPClientTransport(proxy.url, { requestInit: { headers: { authorization: 'Bearer user:bob' } } });
      const bob = new Client({ name: 'bob-client', version: '1.0.0' });
      await bob.connect(bobTransport);
      await bob.callTool({ name: 'remember', arguments: { key: 'k', value: 'v' } });
      const bobToken = bobTransport.sessionId!;
      const bobSid = JSON.parse(Buffer.from(bobToken.split('.')[1]!, 'base64url').toString()).sid as string;
      expect(await redis.exists(`${prefix}s:${bobSid}`)).toBe(1);
      expect((await keysUnder(redis, `${prefix}e:ev.${bobSid}.`)).length).toBeGreaterThan(0);
      await bobTransport.terminateSession();
      expect(await redis.exists(`${prefix}s:${bobSid}`)).toBe(0);
      expect(await keysUnder(redis, `${prefix}e:ev.${bobSid}.`)).toEqual([]);
      expect((await post({ authorization: 'Bearer user:bob', 'mcp-session-id': bobToken })).status).toBe(404);
      await bob.close();

      // --- key rotation and re-key: the old token works until its signing key is retired
      const adminB = (path: string) => fetch(`http://127.0.0.1:${b.port}/admin/${path}`).then((r) => r.json() as Promise<Record<string, unknown>>);
      const before = (await adminB('keys')) as { keys: Array<{ kid: string; purpose: string; status: string }> };
      const oldSign = before.keys.find((k) => k.purpose === 'sign' && k.status === 'primary')!.kid;
      const rotated = (await adminB('rotate')) as { sign: string; encrypt: string };
      const rekeyed = (await adminB('rekey')) as { sessions: { failed: number; resealed: number }; events: { failed: number; resealed: number } };
      expect(rekeyed.sessions.failed).toBe(0);
      expect(rekeyed.events.failed).toBe(0);
      expect(rekeyed.sessions.resealed).toBeGreaterThan(0);
      const usage = (await adminB('keys')) as { sessions: Record<string, number>; events: Record<string, number> };
      expect(Object.keys(usage.sessions)).toEqual([rotated.encrypt]);
      expect(Object.keys(usage.events)).toEqual([rotated.encrypt]);
      expect(JSON.parse(resultText(await client.callTool({ name: 'recall', arguments: {} })))).toMatchObject({ color: 'teal-7f3a9c' });
      await adminB(`retire?kid=${encodeURIComponent(oldSign)}`);
      await expect(client.callTool({ name: 'recall', arguments: {} })).rejects.toThrow();
      await client.close().catch(() => undefined);
    }, 45_000);
  });
}
