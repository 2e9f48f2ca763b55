/**
 * Test harness for the MCP integration: server instances in child processes, a small switchable
 * HTTP proxy in front of them (the "load balancer"), and the real SDK client of a chosen version.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export type SdkVersion = 'newest' | 'oldest';
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Instance {
  name: string;
  port: number;
  /** The SDK copy the process loaded, as it reports it. */
  sdk: string;
  child: ChildProcess;
  output: string[];
}

/** Starts `test/mcp/server-process.ts` (or another script) in its own Node process; resolves once it listens. */
export function startInstance(name: string, env: Record<string, string>, script = 'test/mcp/server-process.ts'): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/mcp/sdk-alias.mjs', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, SSS_TEST_INSTANCE: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output.join('')}`)), 20_000);
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      buffered += chunk.toString();
      const m = /\{[^\n]*"port":(\d+)[^\n]*\}/.exec(buffered);
      if (m !== null) {
        clearTimeout(timer);
        const ready = JSON.parse(m[0]) as { sdk?: string };
        resolve({ name, port: Number(m[1]), sdk: ready.sdk ?? 'unknown', child, output });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${output.join('')}`));
    });
  });
}

export interface SeenRequest {
  method: string;
  target: number;
  sessionId: string | undefined;
  lastEventId: string | undefined;
  status?: number;
}

export interface Proxy {
  port: number;
  url: URL;
  target: number;
  seen: SeenRequest[];
  /** While set, GET requests that carry Last-Event-ID wait for it. */
  gate: Promise<void> | undefined;
  close(): Promise<void>;
}

/** A pass-through proxy to `127.0.0.1:<target>`; switching `target` is the failover. */
export async function startProxy(target: number): Promise<Proxy> {
  const sockets = new Set<import('node:net').Socket>();
  const proxy: Proxy = {
    port: 0,
    url: new URL('http://127.0.0.1/'),
    target,
    seen: [],
    gate: undefined,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer(async (req, res) => {
    const lastEventId = typeof req.headers['last-event-id'] === 'string' ? req.headers['last-event-id'] : undefined;
    if (req.method === 'GET' && lastEventId !== undefined && proxy.gate !== undefined) await proxy.gate;
    const seen: SeenRequest = {
      method: req.method ?? '?',
      target: proxy.target,
      sessionId: typeof req.headers['mcp-session-id'] === 'string' ? req.headers['mcp-session-id'] : undefined,
      lastEventId,
    };
    proxy.seen.push(seen);
    const upstream = http.request({ host: '127.0.0.1', port: proxy.target, method: req.method, path: req.url, headers: req.headers, agent }, (ures) => {
      if (ures.statusCode !== undefined) seen.status = ures.statusCode;
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      res.flushHeaders();
      ures.pipe(res);
      // The instance died mid-stream: cut the client's connection too, as a real balancer would.
      ures.on('aborted', () => res.destroy());
      ures.on('error', () => res.destroy());
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as AddressInfo).port;
  proxy.url = new URL(`http://127.0.0.1:${proxy.port}/mcp`);
  return proxy;
}

export interface ClientSdk {
  Client: typeof import('@modelcontextprotocol/sdk/client/index.js').Client;
  StreamableHTTPClientTransport: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPClientTransport;
  types: typeof import('@modelcontextprotocol/sdk/types.js');
}

/**
 * The SDK's client modules of one version (the newest installed, or the `sdk-oldest` alias), typed
 * as the newest: the two copies are one API at run time, only their declarations are distinct.
 */
export async function loadClientSdk(version: SdkVersion): Promise<ClientSdk> {
  if (version === 'oldest') {
    const [client, http, types] = await Promise.all([
      import('sdk-oldest/client/index.js'),
      import('sdk-oldest/client/streamableHttp.js'),
      import('sdk-oldest/types.js'),
    ]);
    return { Client: client.Client, StreamableHTTPClientTransport: http.StreamableHTTPClientTransport, types } as unknown as ClientSdk;
  }
  const [client, http, types] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]);
  return { Client: client.Client, StreamableHTTPClientTransport: http.StreamableHTTPClientTransport, types };
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The text of a tool result's first content item. */
export function resultText(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content;
  return content?.[0]?.text ?? '';
}
