/**
 * Adopting a connect-redis database in place: the sessions an express-session + connect-redis app
 * wrote (a JSON string under `<prefix><id>`, with a native expiry) become sealed sessions of a
 * `secureStore()`, each when it is first needed and the rest in one bulk pass.
 *
 * One session's adoption: read the legacy key (type, value and remaining PTTL in one script), ask
 * the window (./window.ts) whether this id may still be taken over, parse express-session's JSON,
 * seal it under the anonymous owner (the application's `bindSession` applies at its next login)
 * with its REMAINING lifetime, audit `adopted` (the id only as a keyed hash), then delete the legacy
 * key if it still holds the value read (compare-and-delete). Sealing comes first: a crash between
 * the two leaves both, our sealed copy wins every read (the legacy key is consulted only on a
 * miss) and the bulk pass deletes the legacy key it finds beside a sealed one. The reverse order
 * could lose a session.
 */
import {
  BackendUnavailableError,
  InvalidInputError,
  type SecureStore,
  type SessionState,
  auditOf,
  isPlainObject,
  isSessionStoreError,
  loadAsNamedOwner,
} from '../internal.js';
import { ANONYMOUS_SUBJECT, OWNER_KEY, type SessionAdopter } from '../express/core.js';
import { type LegacyRedis, legacyRedis } from './redis-legacy.js';
import { AdoptionWindow, globEscape } from './window.js';

export interface ConnectRedisAdoptionOptions {
  /** The node-redis (or ioredis) client connect-redis used: standalone Redis. Never closed here. */
  client: unknown;
  /** connect-redis's `prefix`; default `sess:` (connect-redis's own default). */
  prefix?: string;
  /**
   * The operator's deadline (a Date or epoch ms): from then on no plaintext session is accepted,
   * whatever Redis holds. Strongly advised (SECURITY.md, "Adopting connect-redis sessions").
   */
  until?: Date | number;
  /** Where the adoption window's keys live in that Redis; default `sss-adopt:<prefix>`. */
  manifestPrefix?: string;
  /** connect-redis's `serializer`, if the app set one (its `parse`); default JSON. */
  serializer?: { parse(text: string): unknown };
}

/** What happened to one legacy key. */
export type AdoptOutcome = 'adopted' | 'present' | 'expired' | 'refused' | 'unreadable' | 'absent';

export interface AdoptProgress {
  scanned: number;
  adopted: number;
  /** Already sealed here (adopted on a request, or a crash between seal and delete): the legacy key was deleted. */
  present: number;
  expired: number;
  /** Outside the window (created after the snapshot): audited, and deleted by the bulk pass. */
  refused: number;
  /** Not a string, not JSON, not a session: left in place, counted. */
  unreadable: number;
}

export interface AdoptAllOptions {
  /** A `cursor` printed by an interrupted run. */
  cursor?: string;
  /** SCAN COUNT hint; default 200. */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: AdoptProgress & { cursor: string }) => void;
}

export interface AdoptAllResult extends AdoptProgress {
  /** Every legacy key was visited and the window is now closed. */
  done: boolean;
  /** When not done: resume from here. */
  cursor?: string;
}

/** type, value, PTTL of one legacy key, read together. */
const READ_LEGACY = `local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return {'none'} end
if t ~= 'string' then return {'other'} end
return {'string', redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}`;
/** Deletes the legacy key only if it still holds the value that was adopted (an old instance may have rewritten it). */
const DELETE_IF = `if redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class ConnectRedisAdopter implements SessionAdopter {
  readonly prefix: string;
  readonly window: AdoptionWindow;
  private readonly redis: LegacyRedis;
  private readonly parseText: (text: string) => unknown;
  private readonly audit: ReturnType<typeof auditOf>;
  private readonly now: () => number;

  constructor(
    private readonly store: SecureStore,
    options: ConnectRedisAdoptionOptions & { now?: () => number },
  ) {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('adoptConnectRedis needs options with the client');
    this.redis = legacyRedis(options.client);
    const prefix = options.prefix ?? 'sess:';
    if (typeof prefix !== 'string' || prefix === '') throw new InvalidInputError('prefix must be the non-empty prefix connect-redis used (default "sess:")');
    this.prefix = prefix;
    const until = options.until instanceof Date ? options.until.getTime() : options.until;
    if (until !== undefined && !Number.isFinite(until)) throw new InvalidInputError('until must be a Date or epoch milliseconds');
    const manifestPrefix = options.manifestPrefix ?? `sss-adopt:${prefix}`;
    this.window = new AdoptionWindow(this.redis, store, { legacyPrefix: prefix, manifestPrefix, until });
    const parser = options.serializer?.parse;
    this.parseText = parser === undefined ? (t) => JSON.parse(t) : (t) => parser.call(options.serializer, t);
    this.audit = auditOf(store);
    this.now = options.now ?? (() => Date.now());
  }

  /** Adoptions in flight in this process: concurrent requests with one cookie share one. */
  private readonly inFlight = new Map<string, Promise<AdoptOutcome>>();

  /**
   * On a miss: adopts `sid` if its legacy session exists and the window admits it. True also when
   * the legacy key is gone while the window is open: adoption seals before it deletes, so another
   * process (a parallel request of the same browser) may have just sealed it: the caller looks again.
   */
  async adopt(sid: string): Promise<boolean> {
    let pending = this.inFlight.get(sid);
    if (pending === undefined) {
      pending = this.adoptOne(sid, false).finally(() => this.inFlight.delete(sid));
      this.inFlight.set(sid, pending);
    }
    const outcome = await pending;
    return outcome === 'adopted' || (outcome === 'absent' && !this.window.closed);
  }

  /** The session was destroyed (a logout): its plaintext copy, if any, goes too, so the cookie cannot bring it back. */
  async forget(sid: string): Promise<void> {
    await this.redis.eval(`return redis.call('DEL', KEYS[1])`, [this.prefix + sid], []);
  }

  /**
   * Adopts one legacy session. `bulk`: the id came from the walk, so a sealed copy may already be
   * here (then only the legacy key is removed); a request path comes here only after a miss.
   */
  async adoptOne(sid: string, bulk: boolean): Promise<AdoptOutcome> {
    const key = this.prefix + sid;
    const read = (await this.redis.eval(READ_LEGACY, [key], [])) as [string, string?, number?];
    if (read[0] === 'none') return 'absent';
    if (read[0] !== 'string' || typeof read[1] !== 'string') return 'unreadable';
    const text = read[1];
    if (bulk && (await this.sealedHere(sid))) {
      await this.redis.eval(DELETE_IF, [key], [text]);
      return 'present';
    }
    const now = this.now();
    const window = await this.window.check(sid, now);
    if (!window.open) {
      // A plaintext login the window does not cover: planted, or written after the migration began.
      this.audit('plaintext_refused', `adopt:${window.reason}`, sid);
      // The bulk pass removes it: once the window closes it can never be accepted, and a planted
      // login should not wait in Redis for a later mistake (the audit event is the evidence).
      if (bulk) await this.redis.eval(DELETE_IF, [key], [text]);
      return 'refused';
    }
    const session = this.parse(text);
    if (session === undefined) return 'unreadable';
    const ttlMs = this.remaining(session, Number(read[2]), now);
    if (ttlMs <= 0) {
      await this.redis.eval(DELETE_IF, [key], [text]);
      return 'expired';
    }
    try {
      await this.store.for({ subject: ANONYMOUS_SUBJECT }).save(sid, { ...session, [OWNER_KEY]: ANONYMOUS_SUBJECT }, { ttlMs });
    } catch (err) {
      if (err instanceof BackendUnavailableError) throw err;
      // A session id or state the sealed store refuses (`invalid_input`, `payload_too_large`), or
      // an id already sealed to someone else (`owner_mismatch`): not adoptable.
      if (isSessionStoreError(err)) return 'unreadable';
      throw err;
    }
    this.audit('adopted', 'adopt', sid);
    await this.redis.eval(DELETE_IF, [key], [text]);
    return 'adopted';
  }

  /**
   * The bulk pass: walks every `<prefix>*` key with SCAN, adopts each, and when the walk is over
   * closes the window. Resumable from `cursor` (Redis's own SCAN cursor: every key present for the
   * whole walk is visited at least once, a repeat is harmless). Unreadable records are counted.
   */
  async adoptAll(options: AdoptAllOptions = {}): Promise<AdoptAllResult> {
    await this.window.ensureOpen(this.now());
    const totals: AdoptProgress = { scanned: 0, adopted: 0, present: 0, expired: 0, refused: 0, unreadable: 0 };
    const count = options.batchSize ?? 200;
    if (!Number.isSafeInteger(count) || count < 1 || count > 10_000) throw new InvalidInputError('batchSize must be an integer in 1..10000');
    let cursor = options.cursor ?? '0';
    if (!/^\d{1,20}$/.test(cursor)) throw new InvalidInputError('cursor must be the number printed by an interrupted run');
    for (;;) {
      if (options.signal?.aborted === true) return { ...totals, done: false, cursor };
      const [next, keys] = await this.redis.scan(cursor, `${globEscape(this.prefix)}*`, count);
      for (const key of keys) {
        const outcome = await this.adoptOne(key.slice(this.prefix.length), true);
        totals.scanned++;
        if (outcome !== 'absent') totals[outcome]++;
      }
      cursor = next;
      options.onProgress?.({ ...totals, cursor });
      if (cursor === '0') break;
    }
    await this.window.close(this.now());
    return { ...totals, done: true };
  }

  /** True when this store already holds a session (live or not) under `sid`. */
  private async sealedHere(sid: string): Promise<boolean> {
    try {
      await loadAsNamedOwner(this.store, sid, (data: SessionState) => ({ subject: typeof data[OWNER_KEY] === 'string' ? data[OWNER_KEY] : ANONYMOUS_SUBJECT }));
      return true;
    } catch (err) {
      if (isSessionStoreError(err, 'not_found') || isSessionStoreError(err, 'invalid_input')) return false;
      if (err instanceof BackendUnavailableError) throw err;
      return true; // expired, revoked, integrity: a record of ours is there
    }
  }

  /** express-session's serialized session, or undefined when the text is not one. */
  private parse(text: string): SessionState | undefined {
    let value: unknown;
    try {
      value = this.parseText(text);
    } catch {
      return undefined;
    }
    if (!isPlainObject(value) || !isPlainObject(value.cookie)) return undefined;
    return value as SessionState;
  }

  /**
   * The session's remaining lifetime (ms): the shorter of Redis's PTTL and the cookie's `expires`
   * by the injected clock, never past the store's absolute lifetime. Neither (connect-redis with
   * `disableTTL` and a browser-session cookie): the store's idle window.
   */
  private remaining(session: SessionState, pttl: number, now: number): number {
    const { idleMs, absoluteMs } = this.store.lifetimes;
    const bounds: number[] = [];
    if (Number.isFinite(pttl) && pttl > 0) bounds.push(pttl);
    if (pttl === -2) return 0;
    const expires = (session.cookie as Record<string, unknown>).expires;
    if (typeof expires === 'string') {
      const at = Date.parse(expires);
      if (Number.isFinite(at)) bounds.push(at - now);
    }
    const left = bounds.length === 0 ? idleMs : Math.min(...bounds);
    return left <= 0 ? 0 : Math.min(Math.ceil(left), absoluteMs);
  }
}

/**
 * The `adopt` option of `sealedExpressStore`: sessions connect-redis wrote under `prefix` open in
 * the sealed store, each sealed on first use; `sealed-session adopt connect-redis` seals the rest.
 */
export function adoptConnectRedis(options: ConnectRedisAdoptionOptions): (store: SecureStore, context?: { now: () => number }) => ConnectRedisAdopter {
  // Checked now, at startup, not at the first request.
  legacyRedis(options?.client);
  return (store, context) => new ConnectRedisAdopter(store, context === undefined ? options : { ...options, now: context.now });
}
