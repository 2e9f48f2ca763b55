/**
 * RedisStore: sessions in Redis (standalone or Cluster) through an injected ioredis or node-redis
 * client (./adapt.ts tells them apart; ./commands.ts is what the store asks of either).
 *
 * Key layout: one hash per session at `<prefix><id>` with the fields
 *   v = the value (UTF-8 JSON text, or the raw bytes of a sealed envelope),
 *   t = 'j' (JSON) or 'b' (bytes),
 *   e = expiresAt, epoch milliseconds by the store's injected clock,
 *   r = version token (128 random bits, base64url),
 *   i = the index the record is filed under (`SaveRecordOptions.index`), absent when none; the
 *       index itself is two keys per index value, `<prefix>~ix {X}` and `<prefix>~ix {X}:t`
 *       (./index-keys.ts).
 * The native TTL is `e - now() + graceMs` (PX, at least 1 ms): Redis removes a record only after
 * the grace window, so during that window `load` says `expired`, not `not_found`, and the expiry
 * decision itself always follows the injected clock, never Redis's.
 *
 * Every write is ONE Lua script (EVALSHA, EVAL on NOSCRIPT): atomic on the server, no WATCH/MULTI,
 * so it is safe on a connection shared with the rest of the application. Listing and cleanup walk
 * SCAN (./scan.ts); readiness, deadlines and retries are ./connection.ts.
 *
 * Neither client library is imported: importing this file loads none.
 */
import { BackendStore, type VersionedStoreOptions } from '../../contract/versioned-store.js';
import { BackendUnavailableError, ConflictError, IntegrityError, InvalidInputError } from '../../contract/errors.js';
import { encodeRecordValue } from '../../contract/record-value.js';
import { type DeleteRecordOptions, type ListOptions, type ListPage, type RecordValue, type SaveRecordOptions, type SessionState, type StoredRecord } from '../../contract/store.js';
import { MAX_TTL_MS, assertExpiresAt, assertSessionId, isPlainObject } from '../../contract/validate.js';
import { newVersion } from '../../contract/version.js';
import { intOption } from '../../util/options.js';
import type { RandomSource } from '../../util/random.js';
import { RedisConnection, type RetryKind, type Script, script } from './connection.js';
import { type RedisClient, redisCommands } from './adapt.js';
import type { RedisCommands } from './commands.js';
import { type ScanContext, cleanupExpired, listActive } from './scan.js';
import { FiledByUs, type IndexContext, fileUnder, listByIndex } from './index-keys.js';
import { assertIndexOption } from '../../contract/index-key.js';
import type { KeysetSlotStore, KeysetWriteCondition, StoredKeysetText } from '../../contract/keyset-slot.js';
import * as keyset from './keyset.js';

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
  /**
   * An ioredis `Redis` or `Cluster`, or a node-redis client (`createClient()`, connected) or Cluster
   * (`createCluster()`), v5 or v6. The store never quits it: `close()` leaves it to you.
   */
  client: RedisClient;
  /** Namespace for every key; default `sss:`. No `{` `}` (a hash tag would put every session in one Cluster slot). */
  prefix?: string;
  /** How long past `expiresAt` Redis keeps a record, so it reads as `expired` rather than `not_found`. Default 1 hour. */
  graceMs?: number;
  /**
   * Budget of one attempt, in ms: waiting for the client to be ready plus the server's answer. Default 2000.
   * An operation settles within `maxAttempts * commandTimeoutMs` plus backoff, counted from the caller's
   * call: time queued behind other calls on the same id, and every command of an update, included.
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
const MAX_PREFIX_LENGTH = 128;
const LOAD_FIELDS = ['v', 't', 'e', 'r'];

/**
 * Save. KEYS[1] = record; ARGV = new version, ifAbsent ('1'|''), ifVersion (''|token), value,
 * type, expiresAt, px, index (''|key). Returns 1 when written (or already written by an earlier
 * attempt of this very write: versions never repeat, so finding ours means a retry after a lost
 * answer), 0 on conflict, or, for a write without an index over a record filed under one, that
 * index (the record stays filed there; the caller stretches the index's TTL to the new px).
 * HSET + PEXPIRE in one script: the key is never left without a TTL.
 */
const SAVE: Script = script(`
local cur = redis.call('HGET', KEYS[1], 'r')
if cur == ARGV[1] then return 1 end
if ARGV[2] == '1' and cur then return 0 end
if ARGV[3] ~= '' and cur ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 't', ARGV[5], 'e', ARGV[6], 'r', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[1], 'i', ARGV[8])
  return 1
end
local filed = redis.call('HGET', KEYS[1], 'i')
if filed then return filed end
return 1
`);

/** Delete. KEYS[1] = record; ARGV[1] = ifVersion or ''. Returns 1 deleted, 0 absent, -1 conflict. */
const DELETE: Script = script(`
local cur = redis.call('HGET', KEYS[1], 'r')
if not cur then return 0 end
if ARGV[1] ~= '' and cur ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
return 1
`);

export class RedisStore extends BackendStore implements KeysetSlotStore {
  readonly prefix: string;
  readonly graceMs: number;
  private readonly commands: RedisCommands;
  private readonly connection: RedisConnection;
  private readonly maxRecordBytes: number;
  private readonly random: RandomSource | undefined;
  private readonly scan: ScanContext;
  private readonly indexes: IndexContext;
  private readonly filed = new FiledByUs();
  private readonly keyset: keyset.KeysetContext;

  constructor(options: RedisStoreOptions) {
    super(options);
    if (options === null || typeof options !== 'object' || options.client === null || typeof options.client !== 'object') {
      throw new InvalidInputError('RedisStore needs an ioredis or node-redis client in options.client');
    }
    this.commands = redisCommands(options.client);
    this.prefix = checkPrefix(options.prefix ?? DEFAULT_REDIS_PREFIX);
    this.graceMs = intOption(options.graceMs, DEFAULT_GRACE_MS, 0, MAX_TTL_MS, 'graceMs');
    this.maxRecordBytes = intOption(options.maxRecordBytes, 4 * 1024 * 1024, 1, 512 * 1024 * 1024, 'maxRecordBytes');
    const commandTimeoutMs = intOption(options.commandTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS, 1, 10 * 60 * 1000, 'commandTimeoutMs');
    const maxAttempts = intOption(options.retry?.maxAttempts, 2, 1, 10, 'retry.maxAttempts');
    this.connection = new RedisConnection({
      commandTimeoutMs,
      maxAttempts,
      backoffMs: intOption(options.retry?.backoffMs, 50, 0, 10_000, 'retry.backoffMs'),
      assertOpen: () => this.assertOpen(),
    });
    this.random = options.random;
    this.scan = { commands: this.commands, connection: this.connection, prefix: this.prefix, deleteScript: DELETE, now: () => this.now() };
    // An id filed longer ago than any save can take (every attempt, its backoff, and a minute of
    // clock skew between processes) whose record is gone is no in-flight create: it may be pruned.
    const pruneAfterMs = maxAttempts * (commandTimeoutMs + 1000) + 60_000;
    this.indexes = { commands: this.commands, connection: this.connection, prefix: this.prefix, pruneAfterMs, now: () => this.now() };
    this.keyset = { commands: this.commands, connection: this.connection, prefix: this.prefix, random: this.random };
    // Deliberately no 'error' listener on the injected client: it is the application's, and ioredis
    // never throws for a missing listener (it logs "[ioredis] Unhandled error event" instead), so
    // adding one here would only hide connection faults from the application's own logging. (A
    // node-redis client without one throws on its first error: that is the application's to add.)
  }

  /** `saveRecord` validates the whole state where it serializes it: `save` / `update` check its top level. */
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
    let fields: (Buffer | null)[];
    try {
      fields = await this.connection.run('load', 'read', this.commands.readiness, () => this.commands.hmgetBuffer(key, LOAD_FIELDS));
    } catch (err) {
      // A key of another type under our prefix (connect-redis keeps sessions as plain strings): a
      // record this store did not write, so `integrity` like any foreign record, never an outage
      // that would stop a re-key walk. docs/adopt-connect-redis.md adopts such sessions properly.
      if (err instanceof BackendUnavailableError && /\bWRONGTYPE\b/.test(err.message)) throw new IntegrityError();
      throw err;
    }
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
    assertIndexOption(options);
    const { json, bytes } = encodeRecordValue(value, this.maxRecordBytes);
    // Bytes are copied: the caller may reuse its buffer before the client writes it to the socket.
    const data = json ?? Buffer.from(bytes!);
    const type = json === undefined ? 'b' : 'j';
    const key = this.prefix + id;
    const version = newVersion(this.random);
    const px = this.nativeTtl(options.expiresAt);
    const index = options.index;
    // Filed BEFORE the record is written: whatever fails in between, every record filed under an
    // index is listed there (revokeOwner relies on it); a filing without its record is pruned later.
    const now = this.now();
    // An update of this process's own last write, within the index's stretched lifetime, is filed
    // already (FiledByUs says exactly when that holds); anything else files again first.
    const refile = index !== undefined && !this.filed.skip(id, index, options.ifVersion, now + px);
    if (refile) {
      try {
        // Stretched to twice the record's TTL, so the renewals that follow can skip the filing.
        await fileUnder(this.indexes, index!, id, px * 2, version);
      } catch (err) {
        // Only the filing was in flight: the record itself was never sent, so this save certainly did
        // not write it (`failed`, the caller may retry) whatever became of the filing (pruned later).
        if (err instanceof BackendUnavailableError && err.outcome === 'unknown') {
          throw new BackendUnavailableError(`${err.message} (filing the index; the record was not written)`, { cause: err.cause, outcome: 'failed' });
        }
        throw err;
      }
    }
    const args = [version, options.ifAbsent === true ? '1' : '', options.ifVersion ?? '', data, type, String(options.expiresAt), String(px), index ?? ''];
    const written = await this.connection.run('save', 'idempotent', this.commands.readiness, () => this.connection.evalScript(this.commands, SAVE, [key], args), version);
    if (written === 0) {
      this.filed.forget(id);
      throw new ConflictError(options.ifAbsent === true ? 'record already exists' : 'record changed concurrently');
    }
    if (index === undefined) this.filed.forget(id);
    else this.filed.note(id, index, version, refile ? now + px * 2 : this.filed.until(id)!);
    // Rewritten without an index (a re-seal, a re-key) but filed under one: keep that index alive as long as the record.
    if (typeof written === 'string' || Buffer.isBuffer(written)) await fileUnder(this.indexes, String(written), id, px, version);
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
    this.filed.forget(id);
    const result = await this.connection.run('delete', kind, this.commands.readiness, () => this.connection.evalScript(this.commands, DELETE, [key], [ifVersion ?? '']));
    if (result === -1) throw new ConflictError();
    return result === 1;
  }

  /** One page of live ids (see ./scan.ts for what a SCAN walk promises). */
  async listActive(options: ListOptions = {}): Promise<ListPage> {
    this.assertOpen();
    return listActive(this.scan, options);
  }

  /** Ids filed under `index` whose record is still there (expired ones too, within the grace window): ./index-keys.ts. */
  async listByIndex(index: string, options: ListOptions = {}): Promise<ListPage> {
    this.assertOpen();
    return listByIndex(this.indexes, index, options);
  }

  /** Removes every record expired by the injected clock, version-checked; resolves the true count (./scan.ts). */
  async cleanupExpired(): Promise<number> {
    this.assertOpen();
    return cleanupExpired(this.scan);
  }

  /** The keyset slot, `<prefix>~keyset v1`, no TTL (./keyset.ts). */
  async loadKeysetText(): Promise<StoredKeysetText | undefined> {
    this.assertOpen();
    return keyset.loadKeysetText(this.keyset);
  }

  async saveKeysetText(text: string, condition: KeysetWriteCondition): Promise<string> {
    this.assertOpen();
    return keyset.saveKeysetText(this.keyset, text, condition);
  }

  async deleteKeysetText(): Promise<boolean> {
    this.assertOpen();
    return keyset.deleteKeysetText(this.keyset);
  }

  /** Warns when the server's eviction policy (`allkeys-*`) could evict the keyset. */
  async keysetWarnings(): Promise<string[]> {
    this.assertOpen();
    return keyset.keysetWarnings(this.keyset);
  }

  /** Leaves the injected client open: it belongs to the application. */
  protected override async onClose(): Promise<void> {}

  /** Native TTL in whole ms: expiresAt + grace by the injected clock, never 0 (PX 0 is an error, and "now" would drop the record). */
  private nativeTtl(expiresAt: number): number {
    const px = Math.ceil(expiresAt - this.now() + this.graceMs);
    return Math.min(Math.max(1, px), MAX_TTL_MS + this.graceMs);
  }
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
