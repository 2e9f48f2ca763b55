/**
 * What the edge-runtime tests share: one esbuild bundle of the fixtures (the library's source
 * entries bundled as a user's bundler would, ESM, no Node built-ins), the runtime binaries from
 * test/runtimes (skipped with a printed reason when absent, failed under REQUIRE_SERVICES=1), and a
 * workerd process serving the worker module on a free loopback port.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { REQUIRE_SERVICES } from '../support/services.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'test/runtimes/node_modules/.bin');
const runFile = promisify(execFile);

export type Runtime = 'workerd' | 'bun' | 'deno';

/** The runtime's binary, or undefined after printing why the tests skip (throws under REQUIRE_SERVICES=1). */
export function runtimeBinary(name: Runtime): string | undefined {
  const path = join(BIN, name);
  if (existsSync(path)) return path;
  const message = `${name} binary absent (${path}); run \`npm install\` in test/runtimes (or .ci/services) to run the ${name} tests`;
  if (REQUIRE_SERVICES) throw new Error(`REQUIRE_SERVICES=1 but ${message}`);
  console.warn(`[skip] ${message}`);
  return undefined;
}

/**
 * Bundles the fixtures into `dir`: cli.mjs (Node, Bun, Deno) and worker.mjs (workerd). The
 * platform is neutral: a static import of a Node built-in anywhere in the core fails the build.
 */
export async function bundleFixtures(dir: string): Promise<{ cli: string; worker: string }> {
  const src = (p: string) => join(ROOT, 'src', p);
  await build({
    entryPoints: { cli: join(ROOT, 'test/edge/fixture/cli.ts'), worker: join(ROOT, 'test/edge/fixture/worker.ts') },
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    alias: { 'sealed-session-store': src('index.ts'), 'sealed-session-store/tokens': src('tokens/index.ts') },
    logLevel: 'silent',
  });
  return { cli: join(dir, 'cli.mjs'), worker: join(dir, 'worker.mjs') };
}

/** Runs `cli.mjs` with `input` in a command-line runtime and parses the JSON it prints. */
export async function runCli(command: string, args: string[], input: unknown, env: NodeJS.ProcessEnv = {}): Promise<any> {
  const { stdout } = await runFile(command, [...args, JSON.stringify(input)], {
    cwd: tmpdir(),
    timeout: 60_000,
    maxBuffer: 4 * 1024 * 1024,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Workerd {
  url: string;
  stop(): Promise<void>;
  output(): string;
}

/**
 * Starts `workerd serve` on a free loopback port with the worker module, a text binding
 * TOKEN_KEYS and a service binding ORIGIN to `originPort` on loopback. No compatibility flags:
 * in particular no `nodejs_compat`, so the core runs without any Node API.
 */
export async function startWorkerd(binary: string, workerFile: string, tokenKeys: string, originPort: number): Promise<Workerd> {
  const dir = await mkdtemp(join(tmpdir(), 'sss-workerd-'));
  const port = await freePort();
  await writeFile(join(dir, 'token-keys.json'), tokenKeys);
  const { readFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'worker.mjs'), await readFile(workerFile));
  await writeFile(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .edgeWorker),
    (name = "origin", external = (address = "127.0.0.1:${originPort}", http = ())),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const edgeWorker :Workerd.Worker = (
  modules = [ (name = "worker.mjs", esModule = embed "worker.mjs") ],
  compatibilityDate = "2026-01-01",
  bindings = [
    (name = "TOKEN_KEYS", text = embed "token-keys.json"),
    (name = "ORIGIN", service = "origin"),
  ],
);
`,
  );
  let log = '';
  const child: ChildProcess = spawn(binary, ['serve', join(dir, 'config.capnp'), '--verbose'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`workerd exited with ${child.exitCode}: ${log}`);
    }
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`workerd did not listen on ${port} within 30 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, stop, output: () => log };
}
