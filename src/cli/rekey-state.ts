/**
 * Where an interrupted `sealed-session rekey` keeps its walk: a small JSON file named by a short
 * handle, so the line it prints to resume is short and the backend's cursor (which for Redis can
 * carry session ids) never reaches a log. Threat: session ids in logs; the project's rule is that
 * logs carry keyed hashes only. The file is written 0600 in a 0700 directory and deleted when the
 * run completes.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RekeyProgress } from '../internal.js';
import { type CliIo, UsageError } from './io.js';

export const HANDLE_PATTERN = /^[A-Za-z0-9_-]{8,32}$/;

export interface RekeyState {
  v: 1;
  handle: string;
  /** The places walked, in order (labels: names, never ids), so a resume on another store is refused. */
  places: string[];
  /** The place being walked and the backend cursor inside it. */
  index: number;
  cursor?: string;
  /** Counts carried over from the earlier runs of this walk. */
  totals: RekeyProgress;
  /** The records counted when the walk started (what a resumed run reaches), if counted. */
  total?: number;
  startedAt: number;
}

/** `--state-dir`, `$SSS_REKEY_STATE_DIR`, or a per-user directory under the system's temporary directory. */
export function stateDir(io: CliIo, option: string | undefined): string {
  const dir = option ?? io.env.SSS_REKEY_STATE_DIR;
  if (dir !== undefined && dir !== '') return resolve(io.cwd, dir);
  const user = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  return join(tmpdir(), `sealed-session-rekey-${user}`);
}

export function newHandle(): string {
  return randomBytes(6).toString('base64url');
}

function pathOf(dir: string, handle: string): string {
  return join(dir, `${handle}.json`);
}

export async function saveState(dir: string, state: RekeyState): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = pathOf(dir, state.handle);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state), { mode: 0o600 });
  await rename(tmp, path);
}

export async function loadState(dir: string, handle: string): Promise<RekeyState> {
  if (!HANDLE_PATTERN.test(handle)) throw new UsageError(`--cursor takes the short handle an interrupted run printed (like ${newHandle()}), got something else`);
  let text: string;
  try {
    text = await readFile(pathOf(dir, handle), 'utf8');
  } catch {
    throw new UsageError(`no saved re-key walk "${handle}" in ${dir} (pass the same --state-dir as the interrupted run, or start over without --cursor: sessions already re-sealed are skipped as current)`);
  }
  let state: RekeyState | undefined;
  try {
    state = JSON.parse(text) as RekeyState;
  } catch {
    state = undefined;
  }
  if (state === undefined || state === null || state.v !== 1 || state.handle !== handle || !Array.isArray(state.places) || typeof state.index !== 'number') throw new UsageError(`the saved re-key walk "${handle}" is damaged; start over without --cursor`);
  return state;
}

export async function removeState(dir: string, handle: string): Promise<void> {
  await rm(pathOf(dir, handle), { force: true });
}
