/**
 * Changing keys, kept apart from reading them (`Keyring`), as Tink keeps its keyset manager apart
 * from its handle. A manager works on its own copy of a keyset's facts: nothing it does is seen by
 * a live keyring until the keyring installs `finish()`'s result. `Keyring.transaction()` hands one
 * to its callback; an in-memory keyring runs each of its own mutators through one.
 *
 * The invariants every method keeps, each refusal a `key_state` (an absent kid is `unknown_key`):
 * - exactly one primary per purpose; only an active key becomes primary;
 * - the primary is never retired or destroyed (promote another key first);
 * - destroy only a retired key (a live key cannot vanish in one step);
 * - `sign` and `hash` keys retire only once every session that could still carry their output has
 *   ended (`demotedAt + maxSessionLifetimeMs`), unless forced.
 */
import { KeyStateError, UnknownKeyError } from '../contract/errors.js';
import { base64urlId } from '../util/bytes.js';
import { assertFlags, assertKidArg, assertPurpose } from './args.js';
import type { RandomSource } from '../util/random.js';
import { type KeyEntry, checkInvariants, checkKeyLength } from './jwks.js';
import { redactedView } from './redact.js';
import type { KeyInfo, KeyPurpose } from './types.js';

export interface RetireOptions {
  /** Skip the lifetime rule (sign/hash) - sessions still carrying the key's output will fail. */
  force?: boolean;
}

/** What a manager needs from its keyring: the clock, the randomness and the lifetime rule. */
export interface KeyringManagerOptions {
  readonly now: () => number;
  readonly random: RandomSource;
  readonly maxSessionLifetimeMs: number;
}

export class KeyringManager {
  /** Private (#): the entries share the live keyring's key material (see redact.ts). */
  readonly #entries: Map<string, KeyEntry>;
  private dirty = false;
  private ended = false;

  /**
   * Copies each key's facts, so nothing changes the keyring the entries came from. Key material is
   * shared, not copied (the live keyring keeps handing out the same bytes), which is why a manager
   * ends when its result is installed: a late `destroy()` would otherwise erase live material.
   */
  constructor(
    entries: Iterable<KeyEntry>,
    private readonly options: KeyringManagerOptions,
  ) {
    this.#entries = new Map();
    for (const e of entries) this.#entries.set(e.info.kid, { info: { ...e.info }, key: e.key });
  }

  // ---------------------------------------------------------------- reading the working copy

  /** The primary key of `purpose` as changed so far. Throws `key_state` when there is none. */
  primary(purpose: KeyPurpose): KeyInfo {
    assertPurpose(purpose, 'primary');
    for (const e of this.#entries.values()) if (e.info.purpose === purpose && e.info.status === 'primary') return { ...e.info };
    throw new KeyStateError(`the keyring holds no ${purpose} key`);
  }

  get(kid: string): KeyInfo | undefined {
    assertKidArg(kid, 'get');
    const e = this.#entries.get(kid);
    return e === undefined ? undefined : { ...e.info };
  }

  list(): KeyInfo[] {
    return [...this.#entries.values()].map((e) => ({ ...e.info }));
  }

  /** Whether any method has changed a key yet. */
  get changed(): boolean {
    return this.dirty;
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Adds a fresh key of `purpose`. By default it becomes primary and the old primary stays
   * `active` (still opens, verifies, recomputes). With `activate: false` it is added as `active`
   * only: step one of the fleet sequence (add everywhere, then promote, then retire). The first key
   * of a purpose is always its primary.
   */
  rotate(purpose: KeyPurpose, options: { activate?: boolean } = {}): KeyInfo {
    assertPurpose(purpose, 'rotate');
    assertFlags(options, ['activate'], 'rotate');
    this.assertOpen();
    const activate = options.activate ?? true;
    const hasPrimary = [...this.#entries.values()].some((e) => e.info.purpose === purpose && e.info.status === 'primary');
    if (activate && hasPrimary) this.demote(purpose);
    const e = this.addKey(purpose, activate || !hasPrimary ? 'primary' : 'active');
    this.dirty = true;
    return { ...e.info };
  }

  /** Makes an `active` key the primary of its purpose; the old primary becomes `active`. `key_state` for a retired or destroyed key. */
  promote(kid: string): void {
    const e = this.mustGet(kid, 'promote');
    if (e.info.status === 'primary') return;
    if (e.info.status !== 'active') throw new KeyStateError(`key ${kid} is ${e.info.status}; only an active key can be promoted${e.info.status === 'retired' ? ' (reactivate it first)' : ''}`);
    this.demote(e.info.purpose);
    e.info.status = 'primary';
    delete e.info.demotedAt;
    this.dirty = true;
  }

  /**
   * Stops a key from being used at all (it stays on file and can be reactivated). `key_state` for
   * the primary, a destroyed key, or a `sign` / `hash` key before `demotedAt + maxSessionLifetimeMs`
   * unless forced: tokens and owner hashes made under it may still be presented until then.
   * An `encrypt` key's sessions can only be counted by the store: use `EncryptedStore.retireKey`.
   */
  retire(kid: string, options: RetireOptions = {}): void {
    assertFlags(options, ['force'], 'retire');
    const e = this.mustGet(kid, 'retire');
    const { status, purpose, demotedAt } = e.info;
    if (status === 'retired') return;
    if (status === 'primary') throw new KeyStateError(`key ${kid} is the primary ${purpose} key; promote another key first`);
    if (status === 'destroyed') throw new KeyStateError(`key ${kid} is destroyed`);
    if (purpose !== 'encrypt' && options.force !== true && demotedAt !== undefined) {
      const notBefore = demotedAt + this.options.maxSessionLifetimeMs;
      if (this.options.now() < notBefore) {
        throw new KeyStateError(
          `${purpose} key ${kid} may still be needed by live sessions until ${new Date(notBefore).toISOString()} (demotedAt + maxSessionLifetimeMs); pass { force: true } to retire it anyway`,
        );
      }
    }
    e.info.status = 'retired';
    this.dirty = true;
  }

  /** Brings a retired key back to `active` (undoes a retire). `key_state` for a destroyed key. */
  reactivate(kid: string): void {
    const e = this.mustGet(kid, 'reactivate');
    if (e.info.status === 'active') return;
    if (e.info.status !== 'retired') throw new KeyStateError(`key ${kid} is ${e.info.status}; only a retired key can be reactivated`);
    e.info.status = 'active';
    this.dirty = true;
  }

  /**
   * Erases a retired key's material for good; its kid stays listed so it is never reused and
   * anything under it reports `unknown_key`. `key_state` unless the key is retired.
   */
  destroy(kid: string): void {
    const e = this.mustGet(kid, 'destroy');
    if (e.info.status === 'destroyed') return;
    if (e.info.status !== 'retired') throw new KeyStateError(`key ${kid} is ${e.info.status}; retire it before destroying it`);
    e.info.status = 'destroyed';
    // Wiped at once: a retired key is used by nobody, so no live reader can still need these bytes.
    e.key?.fill(0);
    e.key = undefined;
    this.dirty = true;
  }

  /**
   * Ends this manager and returns the keys as changed, checked against the invariants (`key_state`).
   * Every later call on the manager throws `key_state`.
   */
  finish(): KeyEntry[] {
    this.assertOpen();
    this.ended = true;
    const out = [...this.#entries.values()];
    checkInvariants(out);
    return out;
  }

  // ---------------------------------------------------------------- internals

  private assertOpen(): void {
    if (this.ended) throw new KeyStateError('this keyring manager has finished (its transaction is over); start a new transaction');
  }

  private mustGet(kid: string, method: string): KeyEntry {
    assertKidArg(kid, method);
    this.assertOpen();
    const e = this.#entries.get(kid);
    if (e === undefined) throw new UnknownKeyError();
    return e;
  }

  private demote(purpose: KeyPurpose): void {
    for (const e of this.#entries.values()) {
      if (e.info.purpose === purpose && e.info.status === 'primary') {
        e.info.status = 'active';
        e.info.demotedAt = this.options.now();
      }
    }
  }

  private addKey(purpose: KeyPurpose, status: 'primary' | 'active'): KeyEntry {
    const key = this.options.random(32);
    checkKeyLength(purpose, key.length);
    let kid: string;
    do kid = base64urlId(this.options.random(9));
    while (this.#entries.has(kid));
    const e: KeyEntry = { info: { kid, purpose, status, createdAt: this.options.now() }, key };
    this.#entries.set(kid, e);
    return e;
  }
}

redactedView(KeyringManager, (m) => ({ changed: m.changed, keys: m.list() }));
