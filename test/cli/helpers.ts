/**
 * Drives the `sealed-session` CLI two ways: in-process through `runCli` with captured output (fast,
 * most tests), and as a real child process (`node --import tsx src/cli/main.ts`), which is what an
 * operator runs: real exit codes, real signals.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runCli } from '../../src/cli/program.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** tsx's loader by absolute URL, so a child started in a temporary directory still finds it. */
const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment without any SSS_* variable of the developer's shell, nor the server URLs the
 * tests read (REDIS_URL, DATABASE_URL: CI exports both, and a lone one selects a store, both without
 * SSS_ADAPTER are refused); a test that wants a store names it (--redis, --postgres, or `extra`).
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SSS_') && k !== 'REDIS_URL' && k !== 'DATABASE_URL') env[k] = v;
  return { ...env, ...extra };
}

export async function cli(args: string[], options: { env?: Record<string, string>; signal?: AbortSignal; cwd?: string } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    env: cleanEnv(options.env),
    cwd: options.cwd ?? ROOT,
    isTTY: false,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { code, stdout, stderr };
}

/** Parses the --json document of a run. */
export function json(run: CliRun): Record<string, any> {
  try {
    return JSON.parse(run.stdout) as Record<string, any>;
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
  }
}

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<CliRun>;
}

export function spawnCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Spawned {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: options.cwd ?? ROOT,
    env: cleanEnv(options.env) as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => void (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => void (err += d.toString('utf8')));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal === null ? -1 : 128), stdout: out, stderr: err }));
  });
  return { child, stdout: () => out, stderr: () => err, done };
}

/** Runs the CLI as a child process to completion. */
export function cliProcess(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliRun> {
  return spawnCli(args, options).done;
}

/** Resolves once `predicate` holds for the spawned process's output (polling), or rejects after `ms`. */
export async function waitFor(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sss-cli-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
