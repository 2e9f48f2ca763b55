/**
 * examples/mcp-server.ts runs here, so it never rots: started as its own process, as a user would
 * (`tsx examples/mcp-server.ts`), and driven with the SDK client. In memory; then, when Redis is
 * present, as two instances sharing a keyset file, where a session moves from one to the other.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyring, passphraseProvider } from '../../src/index.js';
import { REPO_ROOT, resultText, startProxy } from '../mcp/harness.js';
import { REDIS_URL, serviceSkipReason, uniqueSuffix } from '../support/services.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function runExample(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; output: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/mcp-server.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, REDIS_URL: '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`example did not start:\n${output.join('')}`)), 20_000);
    child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      output.push(c.toString());
      const m = /listening on (\S+)/.exec(output.join(''));
      if (m !== null) {
        clearTimeout(timer);
        resolve({ url: m[1]!, child, output });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`example exited (${code}):\n${output.join('')}`));
    });
  });
}

async function connect(url: string | URL, token: string, sessionId?: string) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    // With a session id the client joins that session (no second initialize).
    ...(sessionId === undefined ? {} : { sessionId }),
  });
  const client = new Client({ name: 'example-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

const call = async (client: Client, name: string, args: Record<string, unknown> = {}) => JSON.parse(resultText(await client.callTool({ name, arguments: args })));

describe('examples/mcp-server.ts', () => {
  it('runs with the embedded store: state per session, other principals refused', async () => {
    const { url, output, child } = await runExample({});
    expect(output.join('')).toContain('(sessions: memory)');
    const { client, transport } = await connect(url, 'alice-demo-token');
    expect(await call(client, 'count')).toMatchObject({ count: 1 });
    expect(await call(client, 'count')).toMatchObject({ count: 2 });
    const stolen = await fetch(url, {
      method: 'POST',
      headers: { authorization: 'Bearer bob-demo-token', 'mcp-session-id': transport.sessionId!, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(stolen.status).toBe(404);
    const anonymous = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    await client.close();
    child.kill('SIGTERM');
  });

  it('moves a session between two Redis-backed instances sharing a keyset', async (ctx) => {
    const skip = await serviceSkipReason('redis');
    if (skip !== undefined) return ctx.skip();
    const dir = mkdtempSync(join(tmpdir(), 'sss-mcp-example-'));
    const prefix = `ssstest:mcp-example:${uniqueSuffix()}:`;
    const env = { REDIS_URL, SSS_PREFIX: prefix, SSS_KEYSET: join(dir, 'mcp.keyset.json'), SSS_KEYSET_PASSPHRASE: 'correct horse battery staple' };
    const redis = new Redis(REDIS_URL);
    try {
      // The operator's step: one keyset file, made once, read by every instance.
      await Keyring.fromFile(env.SSS_KEYSET, { provider: passphraseProvider(env.SSS_KEYSET_PASSPHRASE), createIfMissing: true });
      const [one, two] = await Promise.all([runExample({ ...env, INSTANCE: 'one' }), runExample({ ...env, INSTANCE: 'two' })]);
      expect(one.output.join('')).toContain('(sessions: redis)');
      const proxy = await startProxy(Number(new URL(one.url).port));
      try {
        const { client } = await connect(proxy.url, 'alice-demo-token');
        expect(await call(client, 'count')).toEqual({ count: 1, instance: 'one' });
        one.child.kill('SIGKILL');
        proxy.target = Number(new URL(two.url).port);
        expect(await call(client, 'count')).toEqual({ count: 2, instance: 'two' });
        expect(await call(client, 'where')).toEqual({ instance: 'two', restored: true });
        await client.close();
      } finally {
        await proxy.close();
        two.child.kill('SIGTERM');
      }
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it('50 concurrent increments of one session on two instances: the count is exactly the calls that resolved', async (ctx) => {
    const skip = await serviceSkipReason('redis');
    if (skip !== undefined) return ctx.skip();
    const dir = mkdtempSync(join(tmpdir(), 'sss-mcp-example-'));
    const prefix = `ssstest:mcp-example:${uniqueSuffix()}:`;
    const env = { REDIS_URL, SSS_PREFIX: prefix, SSS_KEYSET: join(dir, 'mcp.keyset.json'), SSS_KEYSET_PASSPHRASE: 'correct horse battery staple' };
    const redis = new Redis(REDIS_URL);
    try {
      await Keyring.fromFile(env.SSS_KEYSET, { provider: passphraseProvider(env.SSS_KEYSET_PASSPHRASE), createIfMissing: true });
      const [one, two] = await Promise.all([runExample({ ...env, INSTANCE: 'one' }), runExample({ ...env, INSTANCE: 'two' })]);
      const a = await connect(one.url, 'alice-demo-token');
      const b = await connect(two.url, 'alice-demo-token', a.transport.sessionId!);
      try {
        // Both instances hold the session live before the burst, so every call is a store update.
        expect(await call(a.client, 'where')).toEqual({ instance: 'one', restored: false });
        expect(await call(b.client, 'where')).toEqual({ instance: 'two', restored: true });
        const results = await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const result = await (i % 2 === 0 ? a : b).client.callTool({ name: 'count', arguments: {} });
            return { isError: (result as { isError?: boolean }).isError === true, body: JSON.parse(resultText(result)) as Record<string, unknown> };
          }),
        );
        const resolved = results.filter((r) => !r.isError);
        // Every call that did not resolve says why, typed: a conflict (nothing written).
        for (const r of results.filter((x) => x.isError)) expect(r.body).toEqual({ error: 'conflict' });
        // Each resolved call wrote a distinct count: none was lost or written twice.
        const counts = resolved.map((r) => r.body.count as number).sort((x, y) => x - y);
        expect(counts).toEqual(Array.from({ length: resolved.length }, (_, i) => i + 1));
        expect(new Set(resolved.map((r) => r.body.instance))).toEqual(new Set(['one', 'two']));
        // The stored count equals the number of calls that resolved.
        expect(await call(b.client, 'count')).toMatchObject({ count: resolved.length + 1 });
      } finally {
        await a.client.close();
        await b.client.close();
        one.child.kill('SIGTERM');
        two.child.kill('SIGTERM');
      }
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
