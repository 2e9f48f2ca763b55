/**
 * Lock files: one holder of `path` at a time, across processes. Used for a keyset's
 * read-modify-write (two rotations at once would both read the same keyset and the second write
 * would drop the first one's new key, and every session sealed under it) and for a PGlite data
 * directory (two processes writing one PostgreSQL directory corrupt it).
 *
 * - Created atomically: the content `{ pid, host, token }` is written to a private temporary file,
 *   then hard-linked into place (`link` fails with EEXIST when the lock exists), so no reader ever
 *   sees a half-written lock.
 * - A lock whose holder died is stale and is taken over. Two rules say when:
 *   `'pid'`: the holder's pid is gone on this host. A lock held by a live pid, by this very
 *   process, by another host (pids cannot be checked there) or that cannot be parsed is never
 *   taken over. Right when the holder stays for a long time (an open data directory).
 *   `{ olderThanMs }`: the lock file is older than that. Right for short critical sections (a
 *   rotation), and it works across hosts sharing a file system; keep it far above how long the
 *   section takes.
 * - Taking over renames the stale lock aside and re-reads it, so a fresh lock another starter made
 *   meanwhile is put back rather than removed.
 * - Released only if it still holds our token (it may have been taken over as stale meanwhile).
 *
 * node:fs and node:os are reached lazily (util/builtins.ts), so importing this never fails on a
 * runtime without a file system.
 */
import type * as NodeFs from 'node:fs';
import type * as NodeOs from 'node:os';
import { builtinModule } from './builtins.js';
import { base64urlEncode } from './bytes.js';
import { secureRandom } from './random.js';
import { sleep } from './time.js';

type Fsp = typeof NodeFs.promises;

/** Why the lock could not be taken: what the caller's error reports. */
export interface LockBusy {
  readonly path: string;
  /** The holder's pid, when the lock could be read. */
  readonly pid: number | undefined;
  readonly detail: string;
}

export interface AcquireLockOptions {
  /** How a lock left by a dead holder is recognised (see the header). */
  stale: 'pid' | { olderThanMs: number };
  /** How long to wait for a live holder to release it; default 0 (refuse at once). */
  waitMs?: number;
  /** The error thrown when the lock cannot be taken. */
  busy: (reason: LockBusy) => Error;
}

export interface LockHandle {
  readonly path: string;
  /**
   * Touches the lock file's mtime if it still holds our token, so an `{ olderThanMs }` rule never
   * judges a live holder stale. Resolves false when the lock is no longer ours (taken over).
   */
  refresh(): Promise<boolean>;
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  host: string;
  token: string;
}

/** Retries without waiting (released meanwhile, taken over) before the wait or the refusal. */
const MAX_QUICK_ROUNDS = 5;

export async function acquireLock(path: string, options: AcquireLockOptions): Promise<LockHandle> {
  const fs = builtinModule<typeof NodeFs>('node:fs')?.promises;
  if (fs === undefined) throw options.busy({ path, pid: undefined, detail: 'this runtime has no node:fs' });
  const host = builtinModule<typeof NodeOs>('node:os')?.hostname() ?? '';
  const pid = typeof process === 'object' ? process.pid : 0;
  const content = JSON.stringify({ pid, host, token: base64urlEncode(secureRandom(16)) } satisfies LockInfo);
  const deadline = Date.now() + (options.waitMs ?? 0);
  let quick = 0;
  for (let attempt = 0; ; attempt++) {
    if (await tryCreate(fs, path, content)) return handle(fs, path, content);
    const raw = await fs.readFile(path, 'utf8').catch(ifMissing(undefined));
    // undefined: released between our attempt and the read.
    const holder = raw === undefined ? undefined : await judge(fs, path, raw, host, pid, options.stale);
    if (holder === 'stale') await takeOverStale(fs, path, raw!);
    if (typeof holder !== 'object' && ++quick <= MAX_QUICK_ROUNDS) continue;
    if (Date.now() >= deadline) {
      throw options.busy(typeof holder === 'object' ? holder : { path, pid: undefined, detail: 'other processes are racing for it' });
    }
    await sleep(Math.min(100, 5 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()));
  }
}

/** Runs `fn` holding the lock at `path`, and releases it however `fn` ends. */
export async function withLock<T>(path: string, fn: () => Promise<T>, options: AcquireLockOptions): Promise<T> {
  const lock = await acquireLock(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** 'stale' when the holder is gone by `rule`, otherwise why it still holds, or undefined when the lock vanished. */
async function judge(fs: Fsp, path: string, raw: string, host: string, pid: number, rule: AcquireLockOptions['stale']): Promise<LockBusy | 'stale' | undefined> {
  const holder = parse(raw);
  if (rule !== 'pid') {
    const st = await fs.stat(path).catch(ifMissing(undefined));
    if (st === undefined) return undefined;
    if (Date.now() - st.mtimeMs > rule.olderThanMs) return 'stale';
    return { path, pid: holder?.pid, detail: `held for less than ${rule.olderThanMs} ms${holder === undefined ? '' : ` by pid ${holder.pid}`}` };
  }
  if (holder === undefined) return { path, pid: undefined, detail: 'the lock file is unreadable; remove it if no process uses it' };
  if (holder.host !== host) return { path, pid: holder.pid, detail: `held by pid ${holder.pid} on host ${holder.host}; remove it if that process is gone` };
  if (holder.pid === pid) return { path, pid, detail: 'already held by this process' };
  if (isAlive(holder.pid)) return { path, pid: holder.pid, detail: `held by running process ${holder.pid}` };
  return 'stale';
}

async function tryCreate(fs: Fsp, path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${base64urlEncode(secureRandom(9))}.tmp`;
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
async function takeOverStale(fs: Fsp, path: string, judged: string): Promise<void> {
  const aside = `${path}.${base64urlEncode(secureRandom(9))}.stale`;
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

function handle(fs: Fsp, path: string, content: string): LockHandle {
  let released = false;
  return {
    path,
    async refresh() {
      if (released) return false;
      const raw = await fs.readFile(path, 'utf8').catch(() => undefined);
      if (raw !== content) return false;
      const now = new Date();
      return fs.utimes(path, now, now).then(
        () => true,
        () => false,
      );
    },
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

function ifMissing<T>(value: T): (err: unknown) => T {
  return (err) => {
    if (errno(err) === 'ENOENT') return value;
    throw err;
  };
}

function errno(err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code;
}
