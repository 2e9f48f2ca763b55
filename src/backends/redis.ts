/**
 * RedisStore: sessions in Redis (standalone or Cluster) through an injected ioredis client.
 *
 * Key layout: one hash per session at `<prefix><id>` with the fields
 *   v = the value (UTF-8 JSON text, or the raw bytes of a sealed envelope),
 *   t = 'j' (JSON) or 'b' (bytes),
 *   e = expiresAt, epoch milliseconds by the store's injected clock,
 *   r = version token (128 random bits, base64url).
 * The native TTL is `e - now() + graceMs` (PX, at least 1 ms): Redis removes a record only after
 * the grace window, so during that window `load` says `expired`, not `not_found`, and the expiry
 * decision itself always follows the injected clock, never Redis's.
 *
 * Every write is ONE Lua script (EVALSHA, EVAL on NOSCRIPT): atomic on the server, no WATCH/MULTI,
 * so it is safe on a connection shared with the rest of the application. No index is kept:
 * `listActive` and `cleanupExpired` walk SCAN node by node, so there is no hot key or slot.
 *
 * Only `import type` from ioredis: importing this file never loads the client library.
 */
import { createHash } from 'node:crypto';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { BackendStore, type VersionedStoreOptions } from '../contract/versioned-store.js';
import { BackendUnavailableError, ConflictError, IntegrityError, InvalidInputError, PayloadTooLargeError } from '../contract/errors.js';
import { type DeleteRecordOptions, type ListOptions, type ListPage, type RecordValue, type SaveRecordOptions, type SessionState, type StoredRecord } from '../contract/store.js';
import { MAX_TTL_MS, assertExpiresAt, assertSessionId, isPlainObject, normalizeLimit, serializeState } from '../contract/validate.js';
import { newVersion } from '../contract/version.js';
import type { RandomSource } from '../util/random.js';
import { MAX_CARRIED_IDS, type ScanPosition, decodeListCursor, encodeListCursor } from './redis-cursor.js';

export { decodeListCursor, encodeListCursor, type ScanPosition } from './redis-cursor.js';

/** A standalone ioredis client or an ioredis Cluster. */
export type RedisClient = Redis | Cluster;

export interface RedisRetryPolicy {
  /**
   * Attempts per operation (1 = no retry). Default 2. Reads, saves (idempotent through their version
   * token) and unconditional deletes are retried after any connection fault; conditional deletes
   * only when the first attempt certainly never reached the server.
   */
  maxAttempts?: number;
  /** Backoff before attempt n: a random time in [0, backoffMs * 2^(n-2)], capped at 1 s. Default 50. */
  backoffMs?: number;
}

export interface RedisStoreOptions extends VersionedStoreOptions {
  /** An ioredis `Redis` or `Cluster`. The store never quits it: `close()` leaves it to you. */
  client: RedisClient;
  /** Namespace for every key; default `sss:`. No `{` `}` (a hash tag would put every session in one Cluster slot). */
  prefix?: string;
  /** How long past `expiresAt` Redis keeps a record, so it reads as `expired` rather than `not_found`. Default 1 hour. */
  graceMs?: number;
  /**
   * Budget of one attempt, in ms: waiting for the client to be ready plus the server's answer. Default 2000.
   * An operation settles within about `maxAttempts * commandTimeoutMs` plus backoff.
   */
  commandTimeoutMs?: number;
  retry?: RedisRetryPolicy;
  /** Largest record (JSON text or bytes); bigger writes fail with `payload_too_large`. Default 4 MiB. */
  maxRecordBytes?: number;
  /** Random source for version tokens. */
  random?: RandomSource;
}

export const DEFAULT_REDIS_PREFIX = 'sss:';
export const DEFAULT_GRACE_MS = 60 * 60 * 1000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;

/**
 * Save. KEYS[1] = record; ARGV = new version, ifAbsent ('1'|''), ifVersion (''|token), value,
 * type, expiresAt, px. Returns 1 when written (or already written by an earlier attempt of this
 * very write: versions never repeat, so finding ours means a retry after a lost answer), 0 on conflict.
 * HSET + PEXPIRE in one script: the key is never left without a TTL.
 */
const SAVE_LUA = `
local cur = redis.call('HGET', KEYS[1], 'r')
if cur == ARGV[1] then return 1 end
if ARGV[2] == '1' and cur then return 0 end
if ARGV[3] ~= '' and cur ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 't', ARGV[5], 'e', ARGV[6], 'r', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 1
`;

/** Delete. KEYS[1] = record; ARGV[1] = ifVersion or ''. Returns 1 deleted, 0 absent, -1 conflict. */
const DELETE_LUA = `
local cur = redis.call('HGET', KEYS[1], 'r')
if not cur then return 0 end
if ARGV[1] ~= '' and cur ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
return 1
`;

interface Script {
  src: string;
  sha: string;
}

const script = (src: string): Script => ({ src, sha: createHash('sha1').update(src).digest('hex') });
const SAVE: Script = script(SAVE_LUA);
const DELETE: Script = script(DELETE_LUA);

/** The commands the store uses, common to `Redis` and `Cluster`. */
type Commands = Pick<Redis, 'evalsha' | 'eval' | 'hmgetBuffer' | 'scan' | 'pipeline'>;

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

interface ScanNode {
  name: string;
  client: Redis;
}

/** What a retry may do after a fault: see RedisRetryPolicy. */
type RetryKind = 'idempotent' | 'conditional';

/** Server error replies that mean "not executed, try again shortly". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|READONLY|MASTERDOWN|NOREPLICAS)\b/;
const SCAN_COUNT_MAX = 1000;
/** SCAN calls one `listActive` page may make before it returns what it has (bounded latency on a sparse keyspace). */
const MAX_SCANS_PER_PAGE = 64;
const MAX_PREFIX_LENGTH = 128;

class NotSent extends Error {}
class TimedOut extends Error {}

export class RedisStore extends BackendStore {
  readonly prefix: string;
  readonly graceMs: number;
  private readonly client: RedisClient;
  private readonly commandTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly maxRecordBytes: number;
  private readonly random: RandomSource | undefined;
  private readonly matchPattern: string;
  /** One pending "ready" wait per connection, however many operations wait on it. */
  private readonly readyWaits = new WeakMap<object, Promise<void>>();

  constructor(options: RedisStoreOptions) {
    super(options);
    if (options === null || typeof options !== 'object' || options.client === null || typeof options.client !== 'object') {
      throw new InvalidInputError('RedisStore needs an ioredis client in options.client');
    }
    this.client = options.client;
    this.prefix = checkPrefix(options.prefix ?? DEFAULT_REDIS_PREFIX);
    this.matchPattern = `${escapeGlob(this.prefix)}*`;
    this.graceMs = checkInteger(options.graceMs ?? DEFAULT_GRACE_MS, 'graceMs', 0, MAX_TTL_MS);
    this.commandTimeoutMs = checkInteger(options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, 'commandTimeoutMs', 1, 10 * 60 * 1000);
    this.maxAttempts = checkInteger(options.retry?.maxAttempts ?? 2, 'retry.maxAttempts', 1, 10);
    this.backoffMs = checkInteger(options.retry?.backoffMs ?? 50, 'retry.backoffMs', 0, 10_000);
    this.maxRecordBytes = checkInteger(options.maxRecordBytes ?? 4 * 1024 * 1024, 'maxRecordBytes', 1, 512 * 1024 * 1024);
    this.random = options.random;
    // Deliberately no 'error' listener on the injected client: it is the application's, and ioredis
    // never throws for a missing listener (it logs "[ioredis] Unhandled error event" instead), so
    // adding one here would only hide connection faults from the application's own logging.
  }

  /** `saveRecord` validates every plain state where it serializes it (`serializeState`): `save` / `update` check only its top level. */
  protected override readonly serializesOnSave = true;

  /** The Redis key of a session (for operators and tests; the layout is documented above). */
  keyFor(id: string): string {
    assertSessionId(id);
    return this.prefix + id;
  }

  async loadRecord(id: string): Promise<StoredRecord | undefined> {
    this.assertOpen();
    assertSessionId(id);
    const key = this.prefix + id;
    const fields = await this.run('load', 'idempotent', this.client, () => this.commands.hmgetBuffer(key, 'v', 't', 'e', 'r'));
    const [v, t, e, r] = fields;
    if (v == null && t == null && e == null && r == null) return undefined;
    // Not a record this store wrote (a foreign key under our prefix): never guess at its contents.
    if (v == null || t == null || e == null || r == null) throw new IntegrityError();
    const expiresAt = Number(e.toString('latin1'));
    if (!Number.isFinite(expiresAt)) throw new IntegrityError();
    const version = r.toString('latin1');
    const type = t.toString('latin1');
    if (type === 'b') return { value: new Uint8Array(v), version, expiresAt };
    if (type !== 'j') throw new IntegrityError();
    let value: unknown;
    try {
      value = JSON.parse(v.toString('utf8'));
    } catch {
      throw new IntegrityError();
    }
    if (!isPlainObject(value)) throw new IntegrityError();
    return { value: value as SessionState, version, expiresAt };
  }

  async saveRecord(id: string, value: RecordValue, options: SaveRecordOptions): Promise<string> {
    this.assertOpen();
    assertSessionId(id);
    if (options === null || typeof options !== 'object') throw new InvalidInputError('saveRecord needs options with expiresAt');
    assertExpiresAt(options.expiresAt);
    if (options.ifVersion !== undefined && (typeof options.ifVersion !== 'string' || options.ifVersion === '')) {
      throw new InvalidInputError('ifVersion must be a non-empty string');
    }
    let data: string | Buffer;
    let type: 'j' | 'b';
    if (value instanceof Uint8Array) {
      if (value.length > this.maxRecordBytes) throw new PayloadTooLargeError(value.length, this.maxRecordBytes, 'record');
      // A copy: the caller may reuse its buffer before ioredis writes it to the socket.
      data = Buffer.from(value);
      type = 'b';
    } else {
      data = serializeState(value, this.maxRecordBytes, 'record');
      type = 'j';
    }
    const key = this.prefix + id;
    const version = newVersion(this.random);
    const px = this.nativeTtl(options.expiresAt);
    const args = [version, options.ifAbsent === true ? '1' : '', options.ifVersion ?? '', data, type, String(options.expiresAt), String(px)];
    const written = await this.run('save', 'idempotent', this.client, () => this.evalScript(this.commands, SAVE, key, args), version);
    if (written !== 1) throw new ConflictError(options.ifAbsent === true ? 'record already exists' : 'record changed concurrently');
    return version;
  }

  async deleteRecord(id: string, options: DeleteRecordOptions = {}): Promise<boolean> {
    this.assertOpen();
    assertSessionId(id);
    const ifVersion = options?.ifVersion;
    if (ifVersion !== undefined && (typeof ifVersion !== 'string' || ifVersion === '')) {
      throw new InvalidInputError('ifVersion must be a non-empty string');
    }
    const key = this.prefix + id;
    // An unconditional delete is idempotent and may be retried after a lost answer (it then reports
    // `false` for a record the lost attempt removed); a conditional one only when nothing was sent.
    const kind: RetryKind = ifVersion === undefined ? 'idempotent' : 'conditional';
    const result = await this.run('delete', kind, this.client, () => this.evalScript(this.commands, DELETE, key, [ifVersion ?? '']));
    if (result === -1) throw new ConflictError();
    return result === 1;
  }

  /**
   * One page of live ids, walking SCAN over every master node in turn.
   *
   * What SCAN guarantees, and so what this promises: an id present for the whole walk is returned
   * at least once; an id created or deleted during the walk may or may not be. SCAN can return a key
   * twice when a node's hash table shrinks during the walk (or across a Cluster resharding): ids
   * are de-duplicated within a page, but a repeat across pages is only possible in that case, so a
   * caller that must never see one keeps a Set of the ids it has seen. COUNT is only a hint, so a
   * SCAN batch that overflows the page is carried in the cursor (and re-checked on the next page)
   * instead of being dropped (up to 5000 ids; a bigger overflow makes the next page scan that batch
   * again, which may repeat ids but never misses one). A page may hold fewer than `limit` ids while a cursor is still
   * returned (a sparse keyspace); no cursor means the walk is over.
   */
  async listActive(options: ListOptions = {}): Promise<ListPage> {
    this.assertOpen();
    const limit = normalizeLimit(options?.limit);
    const start: ScanPosition = options?.cursor === undefined ? { node: '', scan: '0', carried: [] } : decodeListCursor(options.cursor);
    const nodes = await this.scanNodes();
    const first = options?.cursor === undefined;
    // Nodes are visited in name order; one that vanished (topology change) is skipped and the walk
    // continues with the next name, one that appeared is visited if it sorts later.
    let index = first ? 0 : nodes.findIndex((n) => n.name >= start.node);
    if (index === -1) index = nodes.length;
    let scan = !first && nodes[index]?.name === start.node ? start.scan : '0';
    const ids: string[] = [];
    const seen = new Set<string>();
    let carried: string[] = [];
    let candidates = start.carried;
    let candidatesVia: Redis | undefined;
    /** Where the batch in `candidates` came from, to scan it again if it overflows the cursor (below). */
    let batchStart: { index: number; scan: string } | undefined;
    let scans = 0;
    for (;;) {
      if (candidates.length > 0) {
        const live = await this.liveIds(candidates, candidatesVia);
        for (const id of live) {
          if (seen.has(id)) continue;
          seen.add(id);
          if (ids.length < limit) ids.push(id);
          else carried.push(id);
        }
        candidates = [];
      }
      if (ids.length >= limit || carried.length > 0) break;
      const node = nodes[index];
      if (node === undefined || scans >= MAX_SCANS_PER_PAGE) break;
      const count = Math.min(SCAN_COUNT_MAX, Math.max(100, 2 * (limit - ids.length)));
      const cur = scan;
      const [next, keys] = await this.run('list', 'idempotent', node.client, () => node.client.scan(cur, 'MATCH', this.matchPattern, 'COUNT', count));
      scans++;
      candidates = this.idsOf(keys);
      candidatesVia = node.client;
      batchStart = { index, scan: cur };
      if (next === '0') {
        index++;
        scan = '0';
      } else {
        scan = next;
      }
    }
    if (carried.length > MAX_CARRIED_IDS && batchStart !== undefined) {
      // Pathological overflow (a SCAN batch of thousands of ids, e.g. long hash chains while a fork
      // blocks rehashing): rather than drop ids or grow the cursor without bound, the next page scans
      // this batch again. Ids of this page may then repeat; none is missed.
      const again = nodes[batchStart.index];
      if (again !== undefined) return { ids, cursor: encodeListCursor({ node: again.name, scan: batchStart.scan, carried: [] }) };
    }
    const node = nodes[index];
    if (node === undefined && carried.length === 0) return { ids };
    // Past the last node, '\u007f' sorts after every node name: only the carried ids remain.
    return { ids, cursor: encodeListCursor({ node: node?.name ?? '\u007f', scan: node === undefined ? '0' : scan, carried }) };
  }

  /**
   * Removes every record whose `expiresAt` has passed by the injected clock; resolves the true number
   * removed. Batched: SCAN 1000 keys, one pipelined HMGET for their `e`/`r`, one pipelined
   * version-checked delete for the expired ones, so a record rewritten between the read and the
   * delete (a concurrent `save` or `updateTtl`) is left alone and not counted.
   */
  async cleanupExpired(): Promise<number> {
    this.assertOpen();
    const now = this.now();
    let removed = 0;
    for (const node of await this.scanNodes()) {
      let scan = '0';
      do {
        const cur = scan;
        const [next, keys] = await this.run('cleanup', 'idempotent', node.client, () => node.client.scan(cur, 'MATCH', this.matchPattern, 'COUNT', SCAN_COUNT_MAX));
        scan = next;
        const ids = this.idsOf(keys);
        if (ids.length === 0) continue;
        const meta = await this.pipelined('cleanup', 'idempotent', node.client, ids, (p, key) => p.hmget(key, 'e', 'r'));
        const expired: { id: string; version: string }[] = [];
        ids.forEach((id, i) => {
          const m = meta[i];
          if (m === undefined || m[0] !== null || !Array.isArray(m[1])) return; // error reply (moved, wrong type): next run
          const [e, r] = m[1] as (string | null)[];
          if (e != null && r != null && Number(e) <= now) expired.push({ id, version: r });
        });
        if (expired.length === 0) continue;
        const results = await this.pipelinedScript('cleanup', 'conditional', node.client, DELETE, expired.map((x) => [this.prefix + x.id, [x.version]]));
        for (const res of results) if (res[0] === null && res[1] === 1) removed++;
      } while (scan !== '0');
    }
    return removed;
  }

  /** Leaves the injected client open: it belongs to the application. */
  protected override async onClose(): Promise<void> {}

  // ---- internals ----------------------------------------------------------------------------

  private get commands(): Commands {
    return this.client as Commands;
  }

  private get isCluster(): boolean {
    return (this.client as { isCluster?: unknown }).isCluster === true;
  }

  /** Native TTL in whole ms: expiresAt + grace by the injected clock, never 0 (PX 0 is an error, and "now" would drop the record). */
  private nativeTtl(expiresAt: number): number {
    const px = Math.ceil(expiresAt - this.now() + this.graceMs);
    return Math.min(Math.max(1, px), MAX_TTL_MS + this.graceMs);
  }

  private idsOf(keys: string[]): string[] {
    const ids: string[] = [];
    for (const key of keys) {
      if (!key.startsWith(this.prefix)) continue;
      const id = key.slice(this.prefix.length);
      if (isSessionId(id)) ids.push(id);
    }
    return ids;
  }

  /** Masters to SCAN, sorted by name: the client itself, or each master of a Cluster. */
  private async scanNodes(): Promise<ScanNode[]> {
    if (!this.isCluster) return [{ name: '', client: this.client as Redis }];
    const cluster = this.client as Cluster;
    await this.run('list', 'idempotent', cluster, async () => undefined);
    const nodes = cluster.nodes('master').map((client) => ({ name: `${client.options.host ?? ''}:${client.options.port ?? ''}`, client }));
    return nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The ids among `ids` whose record exists and has not expired by the injected clock. */
  private async liveIds(ids: string[], via: Redis | undefined): Promise<string[]> {
    const now = this.now();
    // A batch found on one node is checked on that node in one pipeline; carried ids (from a cursor)
    // through the main client, which routes each key to its Cluster node.
    const conn = via ?? (this.isCluster ? undefined : (this.client as Redis));
    const results: (string | null | undefined)[] = conn
      ? (await this.pipelined('list', 'idempotent', conn, ids, (p, key) => p.hget(key, 'e'))).map((r) => (r[0] === null ? (r[1] as string | null) : undefined))
      : await Promise.all(
          ids.map((id) =>
            this.run('list', 'idempotent', this.client, () =>
              // An error reply here (a foreign key of another type under the prefix) is "not a live session".
              (this.client as Redis).hget(this.prefix + id, 'e').catch((err: unknown) => {
                if (isReplyError(err) && !TRANSIENT_REPLY.test(err.message)) return null;
                throw err;
              }),
            ),
          ),
        );
    const live: string[] = [];
    const retry: string[] = [];
    ids.forEach((id, i) => {
      const e = results[i];
      if (e === undefined) retry.push(id);
      else if (e !== null && Number(e) > now) live.push(id);
    });
    // An error reply in a node's pipeline (MOVED during a resharding, or a foreign key of another type):
    // ask again through the Cluster client, which follows redirections; a foreign key stays out.
    if (retry.length > 0 && this.isCluster && via !== undefined) {
      for (const id of await this.liveIds(retry, undefined)) live.push(id);
    }
    return live;
  }

  private async evalScript(target: Commands, s: Script, key: string, args: (string | Buffer)[]): Promise<unknown> {
    try {
      return await target.evalsha(s.sha, 1, key, ...args);
    } catch (err) {
      // NOSCRIPT: the script cache was flushed or this is a fresh node; EVAL loads it (nothing ran).
      if (isReplyError(err) && /^NOSCRIPT\b/.test(err.message)) return target.eval(s.src, 1, key, ...args);
      throw err;
    }
  }

  /** One pipeline of `ids.length` commands; resolves ioredis' [error, result] pairs. */
  private pipelined(
    op: string,
    kind: RetryKind,
    conn: Redis,
    ids: string[],
    add: (p: ChainableCommander, key: string) => void,
  ): Promise<[Error | null, unknown][]> {
    return this.run(op, kind, conn, async () => {
      const p = conn.pipeline();
      for (const id of ids) add(p, this.prefix + id);
      return ((await p.exec()) ?? []) as [Error | null, unknown][];
    });
  }

  /** A pipeline of EVALSHA calls; the entries that met NOSCRIPT are run again with EVAL. */
  private async pipelinedScript(op: string, kind: RetryKind, conn: Redis, s: Script, calls: [string, string[]][]): Promise<[Error | null, unknown][]> {
    return this.run(op, kind, conn, async () => {
      const p = conn.pipeline();
      for (const [key, args] of calls) p.evalsha(s.sha, 1, key, ...args);
      const results = ((await p.exec()) ?? []) as [Error | null, unknown][];
      const missing = results.flatMap((r, i) => (r[0] !== null && /^NOSCRIPT\b/.test(r[0].message) ? [i] : []));
      if (missing.length > 0) {
        const again = conn.pipeline();
        for (const i of missing) {
          const [key, args] = calls[i]!;
          again.eval(s.src, 1, key, ...args);
        }
        const second = ((await again.exec()) ?? []) as [Error | null, unknown][];
        missing.forEach((i, j) => {
          results[i] = second[j] ?? [new Error('no reply'), null];
        });
      }
      return results;
    });
  }

  /**
   * Runs `send` with the timeout and retry policy, and turns every failure into a typed
   * `BackendUnavailableError` whose `outcome` is honest: `failed` only when the command certainly
   * never reached the server (the client was not ready by the deadline, so it was never handed to
   * ioredis, or the server answered with an error), `unknown` once it may have been sent. A write
   * carries the `version` it would have produced, so the caller can tell with `loadRecord` whether
   * it landed.
   */
  private async run<T>(op: string, kind: RetryKind, conn: object, send: () => Promise<T>, version?: string): Promise<T> {
    let outcome: 'failed' | 'unknown' = 'failed';
    for (let attempt = 1; ; attempt++) {
      let sent = false;
      let err: unknown;
      let transient = true;
      try {
        const deadline = Date.now() + this.commandTimeoutMs;
        await this.whenReady(conn as Connection, deadline);
        this.assertOpen();
        sent = true;
        return await withDeadline(send(), deadline);
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
      if (sent) outcome = 'unknown';
      const mayRetry = transient && (kind === 'idempotent' || !sent) && attempt < this.maxAttempts && !this.isClosed;
      if (!mayRetry) {
        const what = err instanceof TimedOut ? `no answer within ${this.commandTimeoutMs} ms` : err instanceof NotSent ? err.message : describe(err);
        // The cause is a sanitized copy: ioredis attaches the command's arguments (the session id, a
        // bearer credential, and the state) to its errors, and causes end up in logs.
        throw new BackendUnavailableError(`redis ${op} failed after ${attempt} attempt(s): ${what}`, {
          cause: sanitize(err),
          outcome,
          ...(version === undefined ? {} : { version }),
        });
      }
      await sleep(Math.random() * Math.min(1000, this.backoffMs * 2 ** (attempt - 1)));
    }
  }

  private get isClosed(): boolean {
    try {
      this.assertOpen();
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
    await withDeadline(wait, deadline, () => new NotSent(`the client was not ready within ${this.commandTimeoutMs} ms`));
  }
}

function withDeadline<T>(p: Promise<T>, deadline: number, onTimeout: () => Error = () => new TimedOut()): Promise<T> {
  // The losing promise must never become an unhandled rejection.
  p.catch(() => {});
  const ms = Math.max(0, deadline - Date.now());
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function isReplyError(err: unknown): err is Error {
  return err instanceof Error && err.name === 'ReplyError';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sanitize(err: unknown): Error {
  const copy = new Error(describe(err));
  copy.name = err instanceof Error ? err.name : 'Error';
  return copy;
}

function isSessionId(id: string): boolean {
  try {
    assertSessionId(id);
    return true;
  } catch {
    return false;
  }
}

function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidInputError(`${name} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > MAX_PREFIX_LENGTH) {
    throw new InvalidInputError(`prefix must be a string of 1..${MAX_PREFIX_LENGTH} characters`);
  }
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw new InvalidInputError('prefix must be visible ASCII');
  }
  // A hash tag in the prefix would route every session to ONE Cluster slot: one hot node.
  if (prefix.includes('{') || prefix.includes('}')) throw new InvalidInputError('prefix must not contain { or } (a Cluster hash tag)');
  return prefix;
}

/** Escapes SCAN MATCH glob characters so the prefix matches literally. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
