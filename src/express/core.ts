/**
 * The core of the cookie-session stores (`./express` for express-session, `./fastify` for
 * @fastify/session), free of either framework: a store that never sees the request, over
 * `secureStore()`.
 *
 * Such a store is handed a session id (from a cookie the framework signed) and nothing else, so it
 * learns a session's owner from the session itself: the owner's subject is sealed in the state
 * under `OWNER_KEY`, and every read is `loadAsNamedOwner`, which makes each check of a scoped
 * `load` (owner hash, idle and absolute deadlines, revocation) as that owner. A session starts
 * under the anonymous owner; `bindSession` moves it, at login, to a fresh id sealed to its user, so
 * `revokeOwner(subject)` ends that user's sessions everywhere and `principal()` can compare the
 * sealed owner with a credential the application checks on its own.
 *
 * Which owner a write goes out as comes from a per-process hint (who this process last saw own the
 * id, or who `bindSession` bound it to); without one the write goes out as the anonymous owner and,
 * if the ownership layer answers `owner_mismatch`, as the owner sealed in the record. Hints never
 * grant anything: the ownership layer checks every write against the sealed owner hash.
 */
import { LRUCache } from 'lru-cache';
import {
  IntegrityError,
  InvalidInputError,
  OwnerMismatchError,
  type SecureStore,
  type SessionState,
  constantTimeEqual,
  isPlainObject,
  isSessionStoreError,
  loadAsNamedOwner,
  utf8Encode,
} from '../internal.js';

import { ANONYMOUS_SUBJECT } from './anonymous.js';

/** The subject every session starts under, until `bindSession` gives it its user. */
export { ANONYMOUS_SUBJECT };
/** The key of the state that holds the sealed owner's subject; the stores strip it on the way out. */
export const OWNER_KEY = '~owner';

/** A session as the frameworks hand it over and take it back: JSON, with its `cookie`. */
export type CookieSession = Record<string, unknown> & { cookie?: Record<string, unknown> };

export interface CookieSessionStoreOptions {
  /**
   * The longest cookie `maxAge` (ms) the application sets, "remember me" included. Refused
   * (`invalid_input`) when longer than the store's absolute lifetime (`ttl.absoluteMs`): a session
   * would otherwise end before its cookie says, silently. A cookie longer than the absolute
   * lifetime is refused at every write in any case.
   */
  maxAge?: number;
  /**
   * Skip a touch when this process renewed the session's idle deadline less than this long ago
   * (ms). Default 0: every touch renews, so the sealed deadline follows the cookie exactly; with N,
   * a session may end up to N ms before its cookie says, for one write fewer per request.
   */
  touchAfterMs?: number;
  /** How many session owners a process remembers between a read and the write that follows. Default 10000. */
  maxHints?: number;
  /** The clock `touchAfterMs` is measured by: the one `secureStore()` was given. Default `Date.now`. */
  now?: () => number;
  /**
   * Sessions of the store this one replaces, opened on a miss and sealed here
   * (`adoptConnectRedis({ client })`, docs/adopt-connect-redis.md).
   */
  adopt?: (store: SecureStore, context: { now: () => number }) => SessionAdopter;
}

/** A source of sessions written by another store: `adopt(sid)` seals the one under `sid` here, if it may. */
export interface SessionAdopter {
  adopt(sid: string): Promise<boolean>;
  /** Removes the other store's copy of a destroyed session (a logout must not be undone by it). */
  forget?(sid: string): Promise<void>;
}

interface Hint {
  subject: string;
  /** When this process last set the session's idle deadline (its clock), and to what window. */
  renewedAt: number;
  ttlMs: number;
}

/** Errors that mean "there is no usable session under this id": the framework starts a new one. */
const NO_SESSION = new Set(['not_found', 'expired', 'integrity', 'unknown_key', 'owner_mismatch', 'invalid_input']);

function ownerOfState(data: SessionState): { subject: string } {
  const subject = data[OWNER_KEY];
  // A session without a sealed owner was not written by a cookie-session store: not ours to open.
  if (typeof subject !== 'string') throw new IntegrityError();
  return { subject };
}

/** Checks a subject `bindSession` is given: a non-empty string, never the anonymous one. */
export function assertSubject(subject: unknown): asserts subject is string {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 1024) {
    throw new InvalidInputError('subject must be a non-empty string of at most 1024 characters');
  }
  if (subject === ANONYMOUS_SUBJECT) throw new InvalidInputError(`'${ANONYMOUS_SUBJECT}' is the anonymous owner, not a user`);
}

/** Resolves a subject from the request by a credential the application checks on its own. */
export type PrincipalResolver<R> = (req: R) => string | undefined | Promise<string | undefined>;

/** The error `principal()` refuses a request with: `owner_mismatch`, HTTP status 403. */
export function principalRefusal(): OwnerMismatchError & { status: number; statusCode: number; expose: boolean } {
  const err = new OwnerMismatchError('the session belongs to another principal') as OwnerMismatchError & { status: number; statusCode: number; expose: boolean };
  Object.assign(err, { status: 403, statusCode: 403, expose: true });
  return err;
}

export class CookieSessionCore {
  readonly maxAge: number | undefined;
  private readonly touchAfterMs: number;
  private readonly hints: LRUCache<string, Hint>;
  private readonly now: () => number;
  private readonly adopter: SessionAdopter | undefined;

  constructor(
    readonly store: SecureStore,
    options: CookieSessionStoreOptions = {},
  ) {
    const { absoluteMs } = store.lifetimes;
    const { maxAge, touchAfterMs = 0, maxHints = 10_000 } = options;
    if (maxAge !== undefined) {
      if (typeof maxAge !== 'number' || !Number.isSafeInteger(maxAge) || maxAge <= 0) throw new InvalidInputError('maxAge must be a positive integer (ms)');
      if (maxAge > absoluteMs) throw new InvalidInputError(lifetimeMessage(maxAge, absoluteMs));
    }
    if (!Number.isSafeInteger(touchAfterMs) || touchAfterMs < 0) throw new InvalidInputError('touchAfterMs must be an integer >= 0');
    if (!Number.isSafeInteger(maxHints) || maxHints < 1) throw new InvalidInputError('maxHints must be a positive integer');
    this.maxAge = maxAge;
    this.touchAfterMs = touchAfterMs;
    this.hints = new LRUCache({ max: maxHints });
    this.now = options.now ?? Date.now;
    this.adopter = options.adopt?.(store, { now: this.now });
  }

  /** The session under `sid` (cookie `expires` as a Date), or undefined when there is none usable. */
  async get(sid: string): Promise<CookieSession | undefined> {
    const found = await this.open(sid);
    if (found === undefined) return undefined;
    const session: CookieSession = { ...found.state };
    delete session[OWNER_KEY];
    const cookie = session.cookie;
    if (isPlainObject(cookie)) {
      const rebuilt: Record<string, unknown> = { ...cookie };
      for (const key of ['expires', 'originalExpires']) {
        if (typeof rebuilt[key] === 'string') rebuilt[key] = new Date(rebuilt[key]);
      }
      session.cookie = rebuilt;
    }
    return session;
  }

  /** Reads and checks the session, remembering its owner for the write that follows. */
  private async open(sid: string, adopt = true): Promise<{ state: SessionState; subject: string } | undefined> {
    try {
      const { owner, state, meta, expiresAt } = await loadAsNamedOwner(this.store, sid, ownerOfState);
      this.hints.set(sid, { subject: owner.subject, renewedAt: expiresAt - meta.ttlMs, ttlMs: meta.ttlMs });
      return { state, subject: owner.subject };
    } catch (err) {
      // Unknown, expired, revoked, tampered or foreign: no session (the audit hook has heard of
      // the tampered ones). Anything else, e.g. `backend_unavailable`, is the framework's error.
      if (isSessionStoreError(err) && NO_SESSION.has(err.code)) {
        this.hints.delete(sid);
        // Only a miss consults the replaced store: a session of ours (even expired or revoked)
        // always wins over a plaintext one under the same id.
        if (adopt && this.adopter !== undefined && isSessionStoreError(err, 'not_found') && (await this.adopter.adopt(sid))) return this.open(sid, false);
        return undefined;
      }
      throw err;
    }
  }

  /** The subject sealed in the session under `sid` (the anonymous one for a session not yet written), or undefined when there is none usable. */
  async ownerOf(sid: string): Promise<string | undefined> {
    const hint = this.hints.get(sid);
    if (hint !== undefined) return hint.subject;
    return (await this.open(sid))?.subject;
  }

  /** Writes the session as its owner: normalised to JSON, the idle window from its cookie's maxAge. */
  async set(sid: string, session: object): Promise<void> {
    const json = toJson(session);
    const ttlMs = this.ttlOf(json.cookie);
    await this.asOwner(sid, async (subject) => {
      await this.store.for({ subject }).save(sid, { ...json, [OWNER_KEY]: subject }, { ttlMs });
      this.hints.set(sid, { subject, renewedAt: this.now(), ttlMs });
    });
  }

  /** Renews the session's idle deadline to its cookie's maxAge from now (express-session's `touch`). */
  async touch(sid: string, session: object): Promise<void> {
    const ttlMs = this.ttlOf(toJson(session).cookie);
    const hint = this.hints.get(sid);
    if (hint !== undefined && hint.ttlMs === ttlMs && this.now() - hint.renewedAt < this.touchAfterMs) return;
    try {
      await this.asOwner(sid, async (subject) => {
        await this.store.for({ subject }).updateTtl(sid, ttlMs);
        this.hints.set(sid, { subject, renewedAt: this.now(), ttlMs });
      });
    } catch (err) {
      // Gone or ended meanwhile: nothing to renew; the next request starts a new session.
      if (!(isSessionStoreError(err, 'not_found') || isSessionStoreError(err, 'expired'))) throw err;
    }
  }

  /** Deletes the session; idempotent. A session this store cannot open is left to expire. */
  async destroy(sid: string): Promise<void> {
    try {
      await this.asOwner(sid, (subject) => this.store.for({ subject }).delete(sid));
      await this.adopter?.forget?.(sid);
    } catch (err) {
      if (!(isSessionStoreError(err) && NO_SESSION.has(err.code))) throw err;
    } finally {
      this.hints.delete(sid);
    }
  }

  /** Records that `sid` (a fresh id, not yet written) belongs to `subject`: its first write seals that owner. */
  claim(sid: string, subject: string): void {
    assertSubject(subject);
    this.hints.set(sid, { subject, renewedAt: Number.NEGATIVE_INFINITY, ttlMs: 0 });
  }

  /** Every live session id of the store (all owners; an admin-scale walk). */
  async ids(): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.store.listActive(cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor });
      ids.push(...page.ids);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return ids;
  }

  /** Every live session by id (each one opened: an admin-scale walk). */
  async all(): Promise<Record<string, CookieSession>> {
    const out: Record<string, CookieSession> = {};
    for (const sid of await this.ids()) {
      const session = await this.get(sid);
      if (session !== undefined) out[sid] = session;
    }
    return out;
  }

  /** Deletes every session this store can open. */
  async clear(): Promise<void> {
    for (const sid of await this.ids()) await this.destroy(sid);
  }

  /** True when `credential` names the owner sealed in the session (compared in constant time). */
  static sameSubject(sealed: string, credential: string): boolean {
    return constantTimeEqual(utf8Encode(sealed), utf8Encode(credential));
  }

  /**
   * Runs `write` as the session's owner: the hinted one, else the anonymous one, and on
   * `owner_mismatch` (the id is sealed to someone this process has not seen) as the owner sealed
   * in the record. The ownership layer checks each attempt against the sealed owner hash.
   */
  private async asOwner(sid: string, write: (subject: string) => Promise<void>): Promise<void> {
    const hinted = this.hints.get(sid)?.subject;
    try {
      await write(hinted ?? ANONYMOUS_SUBJECT);
    } catch (err) {
      if (!isSessionStoreError(err, 'owner_mismatch')) throw err;
      this.hints.delete(sid);
      const sealed = (await this.open(sid))?.subject;
      if (sealed === undefined || sealed === hinted) throw err;
      await write(sealed);
    }
  }

  private ttlOf(cookie: unknown): number {
    const maxAge = isPlainObject(cookie) ? cookie.originalMaxAge : undefined;
    // A cookie without maxAge lives as long as the browser: the session gets the store's idle window.
    if (typeof maxAge !== 'number' || !(maxAge > 0)) return this.store.lifetimes.idleMs;
    const { absoluteMs } = this.store.lifetimes;
    if (maxAge > absoluteMs) throw new InvalidInputError(lifetimeMessage(maxAge, absoluteMs));
    return maxAge;
  }
}

function lifetimeMessage(maxAge: number, absoluteMs: number): string {
  return `the cookie maxAge (${maxAge} ms) is longer than the store's absolute session lifetime (${absoluteMs} ms): raise ttl.absoluteMs to at least the longest cookie maxAge, or the session would end before its cookie`;
}

/**
 * The session as JSON: a `Date` becomes its ISO text, the framework's `Cookie` its `toJSON()`,
 * `undefined` and functions disappear, as in every JSON session store. A value JSON cannot hold (a
 * BigInt, a cycle) is `invalid_input`.
 */
function toJson(session: object): SessionState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(JSON.stringify(session));
  } catch (err) {
    throw new InvalidInputError(`the session cannot be stored as JSON (${(err as Error).message})`, { cause: err });
  }
  if (!isPlainObject(parsed)) throw new InvalidInputError('the session must be an object');
  return parsed as SessionState;
}
