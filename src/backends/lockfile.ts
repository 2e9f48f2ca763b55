/**
 * A pid lock file, so one data directory is opened by one process at a time.
 *
 * Threat: PGlite is one PostgreSQL backend inside one process, with no shared-memory lock of its
 * own. Two processes (a server and a CLI re-key beside it) opening the same directory would each
 * write pages the other does not know about and corrupt it. The lock file turns that into a clear,
 * typed refusal.
 *
 * - Created atomically: the content is written to a private temp file, then hard-linked into place
 *   (`link` fails with EEXIST if the lock exists), so no reader ever sees a half-written lock.
 * - Holds `{ pid, host, token }`. A lock whose pid is dead on this host is stale (the holder
 *   crashed) and is taken over: renamed aside, re-read to make sure it is still the stale lock
 *   judged (not a fresh one another starter just made), then removed.
 * - A lock held by this very process, by a live pid, by another host (pids cannot be checked
 *   there) or that cannot be parsed is never taken over.
 * - Released on close only if it still holds our token.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { BackendUnavailableError } from '../contract/errors.js';

/** Another live process (or this one) holds the data directory; `code` is `backend_unavailable`. */
export class DataDirLockedError extends BackendUnavailableError {
  readonly lockPath: string;
  /** The holder's pid, when the lock could be read. */
  readonly pid: number | undefined;
  constructor(lockPath: string, pid: number | undefined, detail: string) {
    super(`data directory is locked (${lockPath}): ${detail}`, { outcome: 'failed' });
    this.lockPath = lockPath;
    this.pid = pid;
  }
}

export interface LockHandle {
  readonly path: string;
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  host: string;
  token: string;
}

const MAX_TAKEOVER_ROUNDS = 5;

export async function acquireLock(path: string): Promise<LockHandle> {
  const info: LockInfo = { pid: process.pid, host: hostname(), token: randomBytes(16).toString('hex') };
  const content = JSON.stringify(info);
  for (let round = 0; round < MAX_TAKEOVER_ROUNDS; round++) {
    if (await tryCreate(path, content)) return handle(path, content);
    let raw: string;
    try {
      raw = await fs.readFile(path, 'utf8');
    } catch (err) {
      if (errno(err) === 'ENOENT') continue; // released meanwhile: try again
      throw err;
    }
    const holder = parse(raw);
    if (holder === undefined) throw new DataDirLockedError(path, undefined, 'the lock file is unreadable; remove it if no process uses the directory');
    if (holder.host !== info.host) {
      throw new DataDirLockedError(path, holder.pid, `held by pid ${holder.pid} on host ${holder.host}; remove it if that process is gone`);
    }
    if (holder.pid === process.pid) throw new DataDirLockedError(path, holder.pid, 'already open in this process');
    if (isAlive(holder.pid)) throw new DataDirLockedError(path, holder.pid, `held by running process ${holder.pid}`);
    await takeOverStale(path, raw);
  }
  throw new DataDirLockedError(path, undefined, 'could not take over a stale lock (other processes racing for it)');
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(tmp, content, { flag: 'wx', mode: 0o600 });
  try {
    await fs.link(tmp, path);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.unlink(tmp).catch(() => {});
  }
}

/** Moves the stale lock aside; if what was moved is not the lock judged stale, puts it back. */
async function takeOverStale(path: string, judged: string): Promise<void> {
  const aside = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await fs.rename(path, aside);
  } catch (err) {
    if (errno(err) === 'ENOENT') return; // someone else moved it: go round again
    throw err;
  }
  const moved = await fs.readFile(aside, 'utf8').catch(() => undefined);
  if (moved !== judged) await fs.link(aside, path).catch(() => {}); // a fresh lock: restore it (unless replaced)
  await fs.unlink(aside).catch(() => {});
}

function handle(path: string, content: string): LockHandle {
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      const raw = await fs.readFile(path, 'utf8').catch(() => undefined);
      if (raw === content) await fs.unlink(path).catch(() => {});
    },
  };
}

function parse(raw: string): LockInfo | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockInfo>;
    if (Number.isSafeInteger(v.pid) && (v.pid as number) > 0 && typeof v.host === 'string' && typeof v.token === 'string') return v as LockInfo;
  } catch {
    // fall through
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return errno(err) !== 'ESRCH';
  }
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
