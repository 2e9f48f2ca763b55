/**
 * The Redis transport under RedisStore: waiting for a ready connection, one deadline per attempt,
 * bounded retries, Lua script calls (EVALSHA, EVAL on NOSCRIPT), and turning every failure into a
 * typed `backend_unavailable` that says honestly whether a write may have landed. The record
 * operations live in ./store.ts, the SCAN walks in ./scan.ts.
 *
 * The client library (ioredis or node-redis) is behind ./commands.ts: nothing here imports either.
 */
import { createHash } from 'node:crypto';
import { BackendUnavailableError } from '../../contract/errors.js';
import { operationDeadline, sleep, withDeadline } from '../../util/time.js';
import { type PipelineResult, type Readiness, type RedisArg, type RedisCommands, type RedisNode, isReplyError, isUnsentError } from './commands.js';

export { isReplyError } from './commands.js';
export type { PipelineResult } from './commands.js';

/**
 * What a command does, for the retry policy (RedisRetryPolicy) and the outcome it reports: a `read`
 * writes nothing, so its failure is always `failed`; an `idempotent` write may be retried after any
 * fault; a `conditional` one only when it was certainly never sent.
 */
export type RetryKind = 'read' | 'idempotent' | 'conditional';

/** Server error replies that mean "not executed, try again shortly". */
export const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|READONLY|MASTERDOWN|NOREPLICAS)\b/;

/** The command was certainly never handed to the client library. */
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
   * the client library, or the server answered with an error), `unknown` once it may have been sent. A write
   * carries the `version` it would have produced, so the caller can tell with `loadRecord` whether
   * it landed.
   */
  async run<T>(op: string, kind: RetryKind, conn: Readiness, send: () => Promise<T>, version?: string): Promise<T> {
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
        await this.whenReady(conn, deadline);
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
        } else if (isUnsentError(e)) {
          // node-redis refused it before queueing it for the socket (closed, or offline without a queue).
          sent = false;
        } else if (e instanceof BackendUnavailableError && !sent) {
          throw e; // the store was closed while waiting
        }
      }
      // A read that got no answer wrote nothing: only a write may have landed.
      if (sent && kind !== 'read') outcome = 'unknown';
      const mayRetry = transient && (kind !== 'conditional' || !sent) && attempt < maxAttempts && !this.isClosed && Date.now() < operationEnd;
      if (!mayRetry) {
        const what = err instanceof TimedOut ? 'no answer in time' : err instanceof NotSent ? err.message : messageOf(err);
        // The cause is a sanitized copy: ioredis (and node-redis' tracing) attach the command's arguments (the session id, a
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
  async evalScript(target: RedisCommands, s: Script, keys: string[], args: RedisArg[]): Promise<unknown> {
    try {
      return await target.evalsha(s.sha, keys, args);
    } catch (err) {
      if (isReplyError(err) && /^NOSCRIPT\b/.test(err.message)) return target.eval(s.src, keys, args);
      throw err;
    }
  }

  /** One pipeline of a command per key on `node` (undefined: the single server), under `run`. */
  pipelined(op: string, kind: RetryKind, cmds: RedisCommands, node: RedisNode | undefined, keys: string[], command: (key: string) => RedisArg[]): Promise<PipelineResult> {
    return this.run(op, kind, node?.readiness ?? cmds.readiness, () => cmds.pipeline(node, keys.map(command)));
  }

  /** A pipeline of EVALSHA calls under `run`; the entries that met NOSCRIPT are run again with EVAL. */
  pipelinedScript(op: string, kind: RetryKind, cmds: RedisCommands, node: RedisNode | undefined, s: Script, calls: [string, string[]][]): Promise<PipelineResult> {
    return this.run(op, kind, node?.readiness ?? cmds.readiness, async () => {
      const results = await cmds.pipeline(
        node,
        calls.map(([key, args]) => ['EVALSHA', s.sha, '1', key, ...args]),
      );
      const missing = results.flatMap((r, i) => (r[0] !== null && /^NOSCRIPT\b/.test(r[0].message) ? [i] : []));
      if (missing.length > 0) {
        const second = await cmds.pipeline(
          node,
          missing.map((i) => {
            const [key, args] = calls[i]!;
            return ['EVAL', s.src, '1', key, ...args];
          }),
        );
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
   * Commands are handed to the client library only on a ready connection, so a failure before that
   * point is certainly `failed`, never `unknown` (the client's offline queue would otherwise blur the two).
   */
  private async whenReady(conn: Readiness, deadline: number): Promise<void> {
    const state = conn.state();
    if (state === 'closed') throw new NotSent('the client connection is closed');
    if (state === 'ready') return;
    let wait = this.readyWaits.get(conn);
    if (wait === undefined) {
      wait = new Promise<void>((resolve, reject) => {
        conn.watch(resolve, () => reject(new NotSent('the client connection is closed')));
      });
      const settled = wait.then(
        () => this.readyWaits.delete(conn),
        () => this.readyWaits.delete(conn),
      );
      void settled;
      this.readyWaits.set(conn, wait);
      // A lazy client connects on its first command anyway; do the same.
      if (state === 'lazy') conn.connect();
    }
    await withDeadline(wait, deadline, () => new NotSent(`the client was not ready within ${this.options.commandTimeoutMs} ms`));
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A copy of `err` with its message and name only: never the command arguments a client library attaches. */
export function sanitize(err: unknown): Error {
  const copy = new Error(messageOf(err));
  copy.name = err instanceof Error ? err.name : 'Error';
  return copy;
}
