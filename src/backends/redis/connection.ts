/**
 * The Redis transport under RedisStore: waiting for a ready connection, one deadline per attempt,
 * bounded retries, Lua script calls (EVALSHA, EVAL on NOSCRIPT), and turning every failure into a
 * typed `backend_unavailable` that says honestly whether a write may have landed. The record
 * operations live in ./store.ts, the SCAN walks in ./scan.ts.
 *
 * Only `import type` from ioredis: importing this file never loads the client library.
 */
import { createHash } from 'node:crypto';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { BackendUnavailableError } from '../../contract/errors.js';
import { operationDeadline, sleep, withDeadline } from '../../util/time.js';

/** A standalone ioredis client or an ioredis Cluster. */
export type RedisClient = Redis | Cluster;

/** The commands the store uses, common to `Redis` and `Cluster`. */
export type Commands = Pick<Redis, 'evalsha' | 'eval' | 'hmgetBuffer' | 'scan' | 'pipeline'>;

/**
 * What a command does, for the retry policy (RedisRetryPolicy) and the outcome it reports: a `read`
 * writes nothing, so its failure is always `failed`; an `idempotent` write may be retried after any
 * fault; a `conditional` one only when it was certainly never sent.
 */
export type RetryKind = 'read' | 'idempotent' | 'conditional';

/** ioredis' answer per command of a pipeline. */
export type PipelineResult = [Error | null, unknown][];

/** Server error replies that mean "not executed, try again shortly". */
export const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|READONLY|MASTERDOWN|NOREPLICAS)\b/;

/** What the store needs to know about a connection's state. */
interface Connection {
  status: string;
  once(event: 'ready' | 'end', listener: () => void): unknown;
  removeListener(event: 'ready' | 'end', listener: () => void): unknown;
  connect(): Promise<void>;
  /** The socket of a standalone client (a Cluster has none). */
  stream?: { writable?: boolean } | undefined;
  manuallyClosing?: boolean;
}

/** The command was certainly never handed to ioredis. */
class NotSent extends Error {}
/** The command was sent and no answer came by the deadline. */
class TimedOut extends Error {}

export interface Script {
  src: string;
  sha: string;
}

export const script = (src: string): Script => ({ src, sha: createHash('sha1').update(src).digest('hex') });

export interface RedisConnectionOptions {
  /** Budget of one attempt: waiting for the client to be ready plus the server's answer. */
  commandTimeoutMs: number;
  maxAttempts: number;
  backoffMs: number;
  /** Throws `backend_unavailable` once the store is closed. */
  assertOpen: () => void;
}

export class RedisConnection {
  /** One pending "ready" wait per connection, however many operations wait on it. */
  private readonly readyWaits = new WeakMap<object, Promise<void>>();

  constructor(private readonly options: RedisConnectionOptions) {}

  /**
   * Runs `send` with the timeout and retry policy, and turns every failure into a typed
   * `BackendUnavailableError` whose `outcome` is honest: `failed` only when the command certainly
   * never reached the server (the client was not ready by the deadline, so it was never handed to
   * ioredis, or the server answered with an error), `unknown` once it may have been sent. A write
   * carries the `version` it would have produced, so the caller can tell with `loadRecord` whether
   * it landed.
   */
  async run<T>(op: string, kind: RetryKind, conn: object, send: () => Promise<T>, version?: string): Promise<T> {
    const { commandTimeoutMs, maxAttempts, backoffMs } = this.options;
    // The operation's bound counts from the caller's call (time queued behind other calls on the
    // same id included: util/time.ts), read here, before the first await.
    const operationEnd = operationDeadline(this.operationBudgetMs);
    let outcome: 'failed' | 'unknown' = 'failed';
    for (let attempt = 1; ; attempt++) {
      let sent = false;
      let err: unknown;
      let transient = true;
      try {
        const deadline = Math.min(Date.now() + commandTimeoutMs, operationEnd);
        await this.whenReady(conn as Connection, deadline);
        this.options.assertOpen();
        // No time left (spent waiting for the connection, or queued behind other calls): certainly unsent.
        if (Date.now() >= deadline) throw new NotSent(`no time left of the operation's ${this.operationBudgetMs} ms`);
        sent = true;
        return await withDeadline(send(), deadline, () => new TimedOut());
      } catch (e) {
        err = e;
        if (isReplyError(e)) {
          // The server answered: the command did not run (our scripts check before they write).
          sent = false;
          transient = TRANSIENT_REPLY.test(e.message);
        } else if (e instanceof BackendUnavailableError && !sent) {
          throw e; // the store was closed while waiting
        }
      }
      // A read that got no answer wrote nothing: only a write may have landed.
      if (sent && kind !== 'read') outcome = 'unknown';
      const mayRetry = transient && (kind !== 'conditional' || !sent) && attempt < maxAttempts && !this.isClosed && Date.now() < operationEnd;
      if (!mayRetry) {
        const what = err instanceof TimedOut ? 'no answer in time' : err instanceof NotSent ? err.message : messageOf(err);
        // The cause is a sanitized copy: ioredis attaches the command's arguments (the session id, a
        // bearer credential, and the state) to its errors, and causes end up in logs.
        throw new BackendUnavailableError(`redis ${op} failed after ${attempt} attempt(s): ${what}`, {
          cause: sanitize(err),
          outcome,
          ...(version === undefined ? {} : { version }),
        });
      }
      await sleep(Math.min(Math.random() * Math.min(1000, backoffMs * 2 ** (attempt - 1)), operationEnd - Date.now()));
    }
  }

  /**
   * The time bound of one operation: `maxAttempts` attempts of `commandTimeoutMs` and the longest
   * backoffs between them, counted from the caller's call.
   */
  get operationBudgetMs(): number {
    const { commandTimeoutMs, maxAttempts, backoffMs } = this.options;
    let budget = maxAttempts * commandTimeoutMs;
    for (let n = 1; n < maxAttempts; n++) budget += Math.min(1000, backoffMs * 2 ** (n - 1));
    return budget;
  }

  /** One script call; NOSCRIPT (a flushed script cache, a fresh node) means nothing ran, so EVAL loads it. */
  async evalScript(target: Commands, s: Script, key: string, args: (string | Buffer)[]): Promise<unknown> {
    try {
      return await target.evalsha(s.sha, 1, key, ...args);
    } catch (err) {
      if (isReplyError(err) && /^NOSCRIPT\b/.test(err.message)) return target.eval(s.src, 1, key, ...args);
      throw err;
    }
  }

  /** One pipeline of a command per key, under `run`; resolves ioredis' [error, result] pairs. */
  pipelined(op: string, kind: RetryKind, conn: Redis, keys: string[], add: (p: ChainableCommander, key: string) => void): Promise<PipelineResult> {
    return this.run(op, kind, conn, async () => {
      const p = conn.pipeline();
      for (const key of keys) add(p, key);
      return ((await p.exec()) ?? []) as PipelineResult;
    });
  }

  /** A pipeline of EVALSHA calls under `run`; the entries that met NOSCRIPT are run again with EVAL. */
  pipelinedScript(op: string, kind: RetryKind, conn: Redis, s: Script, calls: [string, string[]][]): Promise<PipelineResult> {
    return this.run(op, kind, conn, async () => {
      const p = conn.pipeline();
      for (const [key, args] of calls) p.evalsha(s.sha, 1, key, ...args);
      const results = ((await p.exec()) ?? []) as PipelineResult;
      const missing = results.flatMap((r, i) => (r[0] !== null && /^NOSCRIPT\b/.test(r[0].message) ? [i] : []));
      if (missing.length > 0) {
        const again = conn.pipeline();
        for (const i of missing) {
          const [key, args] = calls[i]!;
          again.eval(s.src, 1, key, ...args);
        }
        const second = ((await again.exec()) ?? []) as PipelineResult;
        missing.forEach((i, j) => {
          results[i] = second[j] ?? [new Error('no reply'), null];
        });
      }
      return results;
    });
  }

  private get isClosed(): boolean {
    try {
      this.options.assertOpen();
      return false;
    } catch {
      return true;
    }
  }

  /**
   * Resolves once `conn` is ready, or rejects `NotSent` at the deadline or when the client has ended.
   * Commands are handed to ioredis only on a ready connection, so a failure before that point is
   * certainly `failed`, never `unknown` (ioredis' offline queue would otherwise blur the two).
   */
  private async whenReady(conn: Connection, deadline: number): Promise<void> {
    // 'ready' with a socket that can no longer write (the server just closed it, the 'close' event
    // is still to come) would put the command in ioredis' offline queue: wait as if not ready.
    // `manuallyClosing` is ioredis' own (untyped) flag between `quit()` and the socket's close: the
    // application is shutting this client down, so fail now, certainly unsent. Should ioredis rename
    // it, such a command would be reported `unknown`: conservative, never wrong.
    if (conn.status === 'end' || conn.manuallyClosing === true) throw new NotSent('the client connection is closed');
    if (conn.status === 'ready' && conn.stream?.writable !== false) return;
    let wait = this.readyWaits.get(conn);
    if (wait === undefined) {
      wait = new Promise<void>((resolve, reject) => {
        const onReady = () => {
          conn.removeListener('end', onEnd);
          resolve();
        };
        const onEnd = () => {
          conn.removeListener('ready', onReady);
          reject(new NotSent('the client connection is closed'));
        };
        conn.once('ready', onReady);
        conn.once('end', onEnd);
      });
      const settled = wait.then(
        () => this.readyWaits.delete(conn),
        () => this.readyWaits.delete(conn),
      );
      void settled;
      this.readyWaits.set(conn, wait);
      // A lazy client connects on its first command anyway; do the same.
      if (conn.status === 'wait') conn.connect().catch(() => {});
    }
    await withDeadline(wait, deadline, () => new NotSent(`the client was not ready within ${this.options.commandTimeoutMs} ms`));
  }
}

export function isReplyError(err: unknown): err is Error {
  return err instanceof Error && err.name === 'ReplyError';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A copy of `err` with its message and name only: never the command arguments ioredis attaches. */
export function sanitize(err: unknown): Error {
  const copy = new Error(messageOf(err));
  copy.name = err instanceof Error ? err.name : 'Error';
  return copy;
}
