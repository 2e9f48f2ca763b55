/**
 * The few Redis commands RedisStore needs, behind one small interface with two implementations:
 * ioredis (./ioredis-client.ts) and node-redis, the `redis` package v5/v6 (./node-redis-client.ts).
 * ./adapt.ts picks one by the client's shape. Neither library is imported here (types by shape
 * only), so loading the store loads neither.
 *
 * Also the surface other code in this package uses to read and write plain keys through whichever
 * client the application has (`get` / `set` / `del` / `pttl`, and `scan` over `masters()`).
 */

/** A command argument: text or raw bytes. */
export type RedisArg = string | Buffer;

/** One reply per command of a pipeline: the error reply (or fault), or the result. */
export type PipelineResult = [Error | null, unknown][];

/**
 * Where a client stands. `ready`: a command is handed to the socket now. `wait`: it would sit in the
 * client's offline queue (connecting, reconnecting). `lazy`: never connected, connects on demand.
 * `closed`: quit, ended, or (node-redis) never connected by the application.
 */
export type ReadyState = 'ready' | 'wait' | 'lazy' | 'closed';

/** The connection state of one client (the main one, or one Cluster node's). */
export interface Readiness {
  state(): ReadyState;
  /** Starts connecting a `lazy` client (errors are the client's business; the wait times out). */
  connect(): void;
  /** Calls `ready` or `end` once, whichever comes first; returns a function that stops listening. */
  watch(ready: () => void, end: () => void): () => void;
}

/** One master to SCAN: `name` sorts the walk (`host:port`, '' for a single server). */
export interface RedisNode {
  readonly name: string;
  readonly readiness: Readiness;
}

export interface RedisCommands {
  readonly library: 'ioredis' | 'node-redis';
  readonly isCluster: boolean;
  /** The state of the client the application gave (for a Cluster: of the Cluster client). */
  readonly readiness: Readiness;

  /** HMGET with raw bytes back (`null` per missing field). */
  hmgetBuffer(key: string, fields: string[]): Promise<(Buffer | null)[]>;
  /** HGET, routed by key; text or `null`. */
  hget(key: string, field: string): Promise<string | null>;
  /** EVALSHA / EVAL with `keys` (one Cluster slot) and `args`; a missing script is an error reply starting NOSCRIPT. */
  evalsha(sha: string, keys: string[], args: RedisArg[]): Promise<unknown>;
  eval(src: string, keys: string[], args: RedisArg[]): Promise<unknown>;
  /**
   * Commands written back to back, each answered on its own (no MULTI: not atomic). `node`: on that
   * Cluster master; undefined: on a single server (a Cluster client needs a node).
   */
  pipeline(node: RedisNode | undefined, commands: RedisArg[][]): Promise<PipelineResult>;
  /** The masters to SCAN, sorted by name: the client itself for a single server. */
  masters(): Promise<RedisNode[]>;
  /** One SCAN step on one master: [next cursor, keys]. */
  scan(node: RedisNode, cursor: string, match: string, count: number): Promise<[string, string[]]>;

  /** Plain string keys (for code reading and writing keys of other libraries through the same client). */
  get(key: string): Promise<string | null>;
  /** SET, with PX when `px` is given. */
  set(key: string, value: RedisArg, px?: number): Promise<unknown>;
  /** DEL of one key; resolves the number removed. */
  del(key: string): Promise<number>;
  /** PTTL: ms left, -1 without expiry, -2 absent. */
  pttl(key: string): Promise<number>;
}

/**
 * An error reply from the server: the command did not run. ioredis names them `ReplyError`;
 * node-redis throws instances of its `ErrorReply` class (`SimpleError`, `BlobError`), whose name
 * stays 'Error', so their class is found by its constructor's name (the library is never imported).
 */
export function isReplyError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return true;
  return hasClass(err, 'ErrorReply');
}

/**
 * node-redis' errors for a command it refused before it was queued for the socket: the client is
 * closed, or offline with the offline queue disabled. Certainly never sent.
 */
export function isUnsentError(err: unknown): boolean {
  return err instanceof Error && (hasClass(err, 'ClientClosedError') || hasClass(err, 'ClientOfflineError'));
}

function hasClass(err: Error, name: string): boolean {
  for (let proto: unknown = Object.getPrototypeOf(err); proto !== null && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    if ((proto as { constructor?: { name?: unknown } }).constructor?.name === name) return true;
  }
  return false;
}

/** Compares node names for the sorted SCAN walk. */
export const byName = (a: RedisNode, b: RedisNode): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
