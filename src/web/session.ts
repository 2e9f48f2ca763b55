/**
 * One request's session in the web-standard front: its data (a JSON object the handler reads and
 * changes), its owner, and what the commit at the end of the request has to do (write the store,
 * set or clear the cookie). Made and committed by `WebSessions` (./sessions.ts).
 */
import { InvalidInputError, type SecureStore, type SessionState, isPlainObject } from '../internal.js';
import { ANONYMOUS_SUBJECT, OWNER_KEY, assertSubject } from '../express/core.js';

/** What the commit writes: nothing, the cookie only (after login), or the cookie's removal. */
export type CookieChange = 'none' | 'set' | 'clear';

export class WebSession {
  /** The session's id in the store, or undefined while nothing has been stored. */
  #id: string | undefined;
  #subject: string;
  #data: Record<string, unknown>;
  /** The data as last written or read (JSON text): the commit writes only when it changed. */
  #stored: string;
  /** When this process last set the session's idle deadline, and the window it set. */
  renewedAt: number;
  ttlMs: number;
  cookie: CookieChange;

  constructor(
    private readonly store: SecureStore,
    init: { id?: string; subject?: string; state?: SessionState; renewedAt?: number; ttlMs?: number; cookie?: CookieChange } = {},
  ) {
    this.#id = init.id;
    this.#subject = init.subject ?? ANONYMOUS_SUBJECT;
    const data: Record<string, unknown> = { ...(init.state ?? {}) };
    delete data[OWNER_KEY];
    this.#data = data;
    this.#stored = JSON.stringify(data);
    this.renewedAt = init.renewedAt ?? Number.NEGATIVE_INFINITY;
    this.ttlMs = init.ttlMs ?? store.lifetimes.idleMs;
    this.cookie = init.cookie ?? 'none';
  }

  /** The session id, or undefined while nothing has been stored. Never show it to the user: the cookie is the credential. */
  get id(): string | undefined {
    return this.#id;
  }

  /** The user the session is bound to (`login`), or undefined for an anonymous session. */
  get subject(): string | undefined {
    return this.#subject === ANONYMOUS_SUBJECT ? undefined : this.#subject;
  }

  /** The session's data: change it in place or through `set` / `delete`; the commit writes it when it changed. */
  get data(): Record<string, unknown> {
    return this.#data;
  }

  get<T = unknown>(key: string): T | undefined {
    return this.#data[key] as T | undefined;
  }

  set(key: string, value: unknown): void {
    if (key === OWNER_KEY) throw new InvalidInputError(`'${OWNER_KEY}' is reserved for the session's sealed owner`);
    this.#data[key] = value;
  }

  delete(key: string): void {
    delete this.#data[key];
  }

  /**
   * Binds the session to `subject` under a NEW id (OWASP: the id changes when the privilege does,
   * so an id planted or seen before login, session fixation, is worth nothing after). The data
   * moves along; the old session is deleted; the commit sends the new cookie.
   */
  async login(subject: string): Promise<void> {
    assertSubject(subject);
    const state = this.json();
    const old = this.#id === undefined ? undefined : { id: this.#id, subject: this.#subject };
    const id = await this.store.for({ subject }).create({ ...state, [OWNER_KEY]: subject });
    this.#id = id;
    this.#subject = subject;
    this.#stored = JSON.stringify(state);
    this.renewedAt = Number.NEGATIVE_INFINITY;
    this.ttlMs = this.store.lifetimes.idleMs;
    this.cookie = 'set';
    if (old !== undefined) await this.store.for({ subject: old.subject }).delete(old.id);
  }

  /** Deletes the session from the store and, at the commit, the cookie; the session starts again empty and anonymous. */
  async logout(): Promise<void> {
    const old = this.#id === undefined ? undefined : { id: this.#id, subject: this.#subject };
    this.#id = undefined;
    this.#subject = ANONYMOUS_SUBJECT;
    this.#data = {};
    this.#stored = '{}';
    this.cookie = 'clear';
    if (old !== undefined) await this.store.for({ subject: old.subject }).delete(old.id);
  }

  /** The data as JSON (a Date becomes its ISO text, undefined disappears); a value JSON cannot hold is `invalid_input`. */
  json(): SessionState {
    let parsed: unknown;
    try {
      parsed = JSON.parse(JSON.stringify(this.#data));
    } catch (err) {
      throw new InvalidInputError(`the session cannot be stored as JSON (${(err as Error).message})`, { cause: err });
    }
    if (!isPlainObject(parsed)) throw new InvalidInputError('the session data must be an object');
    return parsed as SessionState;
  }

  /** Whether the data differs from what the store holds. */
  changed(state: SessionState): boolean {
    return JSON.stringify(state) !== this.#stored;
  }

  /** The commit stored `state` under `id` (a new session gets its id here). */
  stored(id: string, state: SessionState, renewedAt: number): void {
    if (this.#id !== id) this.cookie = 'set';
    this.#id = id;
    this.#stored = JSON.stringify(state);
    this.renewedAt = renewedAt;
  }

  /** The subject sealed in the session (the anonymous one included), for the store calls. */
  get owner(): { subject: string } {
    return { subject: this.#subject };
  }
}
