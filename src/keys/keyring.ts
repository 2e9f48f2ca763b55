/**
 * The keyring: every key the library uses, by purpose, with Tink's invariants.
 *
 * - exactly one primary per purpose; the primary is never retired or destroyed;
 * - keys are at least 256 bits (`encrypt` keys exactly 256);
 * - a destroyed key's material is erased (zeroed in memory, absent from every serialization);
 * - `sign` and `hash` keys retire only once every session that could still carry their output has
 *   ended (`demotedAt + maxSessionLifetimeMs`), unless forced;
 * - violations throw `key_state`; an unusable kid (absent, retired, destroyed, other purpose) is
 *   `unknown_key`.
 *
 * A keyring lives in memory. It can be backed by a `KeyringSource` (a keyset file, an environment
 * variable): `reload()` / `watch()` pick up changes made elsewhere, and a writable source is only
 * changed inside `transaction()`, which locks, reloads, applies, writes and unlocks, so two
 * rotations at once (two processes, two instances) never lose a key.
 */
import { KeyStateError, UnknownKeyError } from '../contract/errors.js';
import { base64urlId } from '../util/bytes.js';
import { type RandomSource, secureRandom } from '../util/random.js';
import { type KeysetEnvOptions, KeysetEnvSource } from './env.js';
import { type KeysetFileOptions, KeysetFileSource } from './file.js';
import { type KeyEntry, type KeysetJwks, checkInvariants, checkKeyLength, parseJwks, toJwks } from './jwks.js';
import type { KeyEncryptionProvider } from './providers/types.js';
import type { KeyringSource } from './source.js';
import { type WrappedKeysetDocument, unwrapKeyset, wrapKeyset } from './wrapped.js';
import { KEY_PURPOSES, type KeyInfo, type KeyPurpose } from './types.js';

/** Twelve hours: OWASP's usual upper bound for an absolute session lifetime. */
export const DEFAULT_MAX_SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;

export interface KeyringOptions {
  /** Clock in epoch milliseconds; default `Date.now`. */
  now?: () => number;
  /** Source of key material and kids; default the platform CSPRNG. */
  random?: RandomSource;
  /**
   * Longest a session (and so a token or owner hash made for it) may live. `sign` / `hash` keys
   * retire only this long after they stopped being primary, unless forced. Default 12 hours.
   */
  maxSessionLifetimeMs?: number;
}

export interface UsableKey {
  readonly kid: string;
  readonly key: Uint8Array;
}

export interface RetireOptions {
  /** Skip the lifetime rule (sign/hash) - sessions still carrying the key's output will fail. */
  force?: boolean;
}

export interface WatchOptions {
  /** Polling interval; default 2000 ms. */
  intervalMs?: number;
  /** Called when a reload fails (the keyring keeps its current keys). Default: ignore. */
  onError?: (err: unknown) => void;
}

export class Keyring {
  private entries = new Map<string, KeyEntry>();
  private primaries: Record<KeyPurpose, UsableKey | undefined> = { encrypt: undefined, sign: undefined, hash: undefined };
  private usable: Record<KeyPurpose, UsableKey[]> = { encrypt: [], sign: [], hash: [] };
  private readonly listeners = new Set<() => void>();
  private readonly now: () => number;
  private readonly random: RandomSource;
  readonly maxSessionLifetimeMs: number;
  private readonly source: KeyringSource | undefined;
  private inTransaction = false;
  private txChain: Promise<unknown> = Promise.resolve();
  private fingerprint = '';

  /** Use `generate()`, `fromFile()`, `fromEnv()`, `fromSource()` or `insecureFromCleartextJwks()`. */
  protected constructor(entries: KeyEntry[], options: KeyringOptions, source?: KeyringSource) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? secureRandom;
    const life = options.maxSessionLifetimeMs ?? DEFAULT_MAX_SESSION_LIFETIME_MS;
    if (typeof life !== 'number' || !Number.isFinite(life) || life < 0) throw new RangeError('maxSessionLifetimeMs must be a finite number >= 0');
    this.maxSessionLifetimeMs = life;
    this.source = source;
    this.replace(entries);
  }

  /** A fresh in-memory keyring with one primary key per purpose. */
  static generate(options: KeyringOptions = {}): Keyring {
    const ring = new Keyring([], options);
    for (const purpose of KEY_PURPOSES) ring.addKey(purpose, 'primary');
    ring.rebuild();
    return ring;
  }

  /**
   * A keyring from a cleartext JWK Set. INSECURE in the sense that the key material was readable
   * by whoever handled the object: use for tests, or for sets you unwrapped yourself.
   */
  static insecureFromCleartextJwks(jwks: unknown, options: KeyringOptions = {}): Keyring {
    return new Keyring(parseJwks(jwks), options);
  }

  /**
   * A keyring backed by `source`: loaded now, reloaded by `reload()` / `watch()`, and (when the
   * source is writable) changed through `transaction()` only. With `createIfMissing`, an empty
   * writable source is initialised, under its lock, with a generated keyset.
   */
  static async fromSource(source: KeyringSource, options: KeyringOptions & { createIfMissing?: boolean } = {}): Promise<Keyring> {
    let current = await source.read();
    if (current === undefined && options.createIfMissing === true) {
      if (!source.writable || source.transaction === undefined) throw new KeyStateError(`${source.description} is read-only and holds no keyset`);
      await source.transaction(async (existing) => existing ?? Keyring.generate(options).insecureExportCleartextJwks());
      current = await source.read();
    }
    if (current === undefined) throw new KeyStateError(`${source.description} holds no keyset`);
    return new Keyring(parseJwks(current), options, source);
  }

  /**
   * A keyring backed by a keyset file, wrapped by `provider` (or, with `insecureCleartext: true`,
   * a cleartext JWK Set). `createIfMissing` writes a generated keyset when the file does not exist.
   */
  static async fromFile(path: string, options: KeyringOptions & KeysetFileOptions & { createIfMissing?: boolean }): Promise<Keyring> {
    return Keyring.fromSource(new KeysetFileSource(path, options), options);
  }

  /** A read-only keyring from an environment variable holding a wrapped keyset (or, with `insecureCleartext: true`, a JWK Set). */
  static async fromEnv(name: string, options: KeyringOptions & KeysetEnvOptions): Promise<Keyring> {
    return Keyring.fromSource(new KeysetEnvSource(name, options), options);
  }

  /** A keyring from a wrapped keyset document (what `exportWrapped` returns). */
  static async fromWrapped(doc: WrappedKeysetDocument, provider: KeyEncryptionProvider, options: KeyringOptions = {}): Promise<Keyring> {
    return new Keyring(parseJwks(await unwrapKeyset(doc, provider)), options);
  }

  // ---------------------------------------------------------------- hot path

  /** The primary key of `purpose`: O(1), no allocation. Do not mutate the returned bytes. */
  primary(purpose: KeyPurpose): UsableKey {
    const p = this.primaries[purpose];
    if (p === undefined) throw new KeyStateError(`the keyring holds no ${purpose} key`);
    return p;
  }

  /**
   * The key `kid` if it is a primary or active key of `purpose`. Anything else - absent, retired,
   * destroyed, or a key of another purpose (kid confusion: a hash key must never decrypt) - is
   * one `unknown_key`.
   */
  keyFor(purpose: KeyPurpose, kid: string): Uint8Array {
    const e = this.entries.get(kid);
    if (e === undefined || e.info.purpose !== purpose || e.key === undefined || (e.info.status !== 'primary' && e.info.status !== 'active')) {
      throw new UnknownKeyError();
    }
    return e.key;
  }

  /** Every usable key of `purpose`: the primary first, then the active ones (newest first). */
  keysFor(purpose: KeyPurpose): Array<{ kid: string; key: Uint8Array }> {
    return this.usable[purpose].slice();
  }

  get(kid: string): KeyInfo | undefined {
    const e = this.entries.get(kid);
    return e === undefined ? undefined : { ...e.info };
  }

  list(): KeyInfo[] {
    return [...this.entries.values()].map((e) => ({ ...e.info }));
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Adds a fresh key of `purpose`. By default it becomes primary and the old primary stays
   * `active` (still opens, verifies, recomputes). With `activate: false` it is added as `active`
   * only: step one of the fleet sequence (add everywhere, then promote, then retire).
   */
  rotate(purpose: KeyPurpose, options: { activate?: boolean } = {}): KeyInfo {
    this.assertMutable();
    const activate = options.activate ?? true;
    const hasPrimary = this.primaries[purpose] !== undefined;
    if (activate && hasPrimary) this.demote(purpose);
    const e = this.addKey(purpose, activate || !hasPrimary ? 'primary' : 'active');
    this.changed();
    return { ...e.info };
  }

  /** Makes an `active` key the primary of its purpose; the old primary becomes `active`. */
  promote(kid: string): void {
    this.assertMutable();
    const e = this.mustGet(kid);
    if (e.info.status === 'primary') return;
    if (e.info.status !== 'active') throw new KeyStateError(`key ${kid} is ${e.info.status}; only an active key can be promoted${e.info.status === 'retired' ? ' (reactivate it first)' : ''}`);
    this.demote(e.info.purpose);
    e.info.status = 'primary';
    delete e.info.demotedAt;
    this.changed();
  }

  /**
   * Stops a key from being used at all (it stays on file and can be reactivated).
   * Never the primary. A `sign` / `hash` key only after `demotedAt + maxSessionLifetimeMs` unless
   * forced: tokens and owner hashes made under it may still be presented until then.
   * An `encrypt` key's sessions can only be counted by the store: use `EncryptedStore.retireKey`.
   */
  retire(kid: string, options: RetireOptions = {}): void {
    this.assertMutable();
    const e = this.mustGet(kid);
    const { status, purpose, demotedAt } = e.info;
    if (status === 'retired') return;
    if (status === 'primary') throw new KeyStateError(`key ${kid} is the primary ${purpose} key; promote another key first`);
    if (status === 'destroyed') throw new KeyStateError(`key ${kid} is destroyed`);
    if (purpose !== 'encrypt' && options.force !== true && demotedAt !== undefined) {
      const notBefore = demotedAt + this.maxSessionLifetimeMs;
      if (this.now() < notBefore) {
        throw new KeyStateError(
          `${purpose} key ${kid} may still be needed by live sessions until ${new Date(notBefore).toISOString()} (demotedAt + maxSessionLifetimeMs); pass { force: true } to retire it anyway`,
        );
      }
    }
    e.info.status = 'retired';
    this.changed();
  }

  /** Brings a retired key back to `active` (undoes a retire). */
  reactivate(kid: string): void {
    this.assertMutable();
    const e = this.mustGet(kid);
    if (e.info.status === 'active') return;
    if (e.info.status !== 'retired') throw new KeyStateError(`key ${kid} is ${e.info.status}; only a retired key can be reactivated`);
    e.info.status = 'active';
    this.changed();
  }

  /**
   * Erases a retired key's material for good; its kid stays listed so it is never reused and
   * anything under it reports `unknown_key`. Retire first (a live key cannot vanish in one step).
   */
  destroy(kid: string): void {
    this.assertMutable();
    const e = this.mustGet(kid);
    if (e.info.status === 'destroyed') return;
    if (e.info.status !== 'retired') throw new KeyStateError(`key ${kid} is ${e.info.status}; retire it before destroying it`);
    e.info.status = 'destroyed';
    e.key?.fill(0);
    e.key = undefined;
    this.changed();
  }

  /** Calls `listener` after every change (mutation or reload that changed something). Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // ---------------------------------------------------------------- serialization and sources

  /**
   * The keyset as a cleartext JWK Set, key material included. INSECURE: whoever sees the result
   * holds every key. Prefer a keyset file wrapped by a provider.
   */
  insecureExportCleartextJwks(): KeysetJwks {
    return toJwks(this.entries.values());
  }

  /** The keyset wrapped (encrypted) by `provider`, safe to store; open it with `Keyring.fromWrapped`. */
  exportWrapped(provider: KeyEncryptionProvider): Promise<WrappedKeysetDocument> {
    return wrapKeyset(this.insecureExportCleartextJwks(), provider);
  }

  /** What backs this keyring (e.g. `keyset file keys/app.json`), or undefined for an in-memory one. */
  get sourceDescription(): string | undefined {
    return this.source?.description;
  }

  /**
   * Re-reads the source and replaces the keys when they changed (then fires `onChange`).
   * Resolves whether anything changed. A source that fails to read or parse leaves the keyring as
   * it was and rejects.
   */
  async reload(): Promise<boolean> {
    if (this.source === undefined) throw new KeyStateError('this keyring has no source to reload from');
    const current = await this.source.read();
    if (current === undefined) throw new KeyStateError(`${this.source.description} holds no keyset`);
    const parsed = parseJwks(current);
    if (fingerprintOf(parsed) === this.fingerprint) return false;
    this.replace(parsed);
    this.emit();
    return true;
  }

  /**
   * Reloads whenever the source reports a change (for files: polling their size and mtime, which
   * survives atomic renames). The timer never keeps the process alive. Returns a stop function.
   */
  watch(options: WatchOptions = {}): () => void {
    if (this.source?.watch === undefined) throw new KeyStateError('this keyring has no source that can be watched');
    const onError = options.onError ?? (() => {});
    return this.source.watch(
      () => {
        this.reload().catch(onError);
      },
      { intervalMs: options.intervalMs ?? 2000 },
    );
  }

  /**
   * Changes a source-backed keyring safely: under the source's lock, reloads the stored keyset,
   * runs `fn` (which calls `rotate` / `promote` / `retire` / `destroy` on this keyring), then stores
   * the result. If `fn` throws, nothing is stored and the keyring returns to the stored keyset.
   */
  async transaction<T>(fn: (ring: this) => T | Promise<T>): Promise<T> {
    const source = this.source;
    if (source === undefined) throw new KeyStateError('this keyring has no source; change it directly');
    if (!source.writable || source.transaction === undefined) throw new KeyStateError(`${source.description} is read-only`);
    const run = async (): Promise<T> => {
      let result: T | undefined;
      await source.transaction!(async (stored) => {
        this.replace(stored === undefined ? [] : parseJwks(stored));
        this.inTransaction = true;
        try {
          result = await fn(this);
        } catch (err) {
          this.inTransaction = false;
          this.replace(stored === undefined ? [] : parseJwks(stored));
          throw err;
        }
        this.inTransaction = false;
        checkInvariants([...this.entries.values()]);
        return this.insecureExportCleartextJwks();
      });
      this.emit();
      return result as T;
    };
    const next = this.txChain.then(run, run);
    this.txChain = next.catch(() => undefined);
    return next;
  }

  /** True when changes must go through `transaction()` (the keyring is backed by a writable source). */
  get persistent(): boolean {
    return this.source?.writable === true;
  }

  // ---------------------------------------------------------------- internals

  private assertMutable(): void {
    if (this.source === undefined || this.inTransaction) return;
    // A change made only in this process's memory would be lost on restart and never reach the
    // rest of the fleet (sessions sealed under a key nobody else holds).
    throw new KeyStateError(
      this.source.writable
        ? `this keyring is backed by ${this.source.description}: change it inside keyring.transaction(...) so the change is locked and saved`
        : `this keyring is backed by ${this.source.description}, which is read-only`,
    );
  }

  private mustGet(kid: string): KeyEntry {
    const e = this.entries.get(kid);
    if (e === undefined) throw new UnknownKeyError();
    return e;
  }

  private demote(purpose: KeyPurpose): void {
    for (const e of this.entries.values()) {
      if (e.info.purpose === purpose && e.info.status === 'primary') {
        e.info.status = 'active';
        e.info.demotedAt = this.now();
      }
    }
  }

  private addKey(purpose: KeyPurpose, status: 'primary' | 'active'): KeyEntry {
    const key = this.random(32);
    checkKeyLength(purpose, key.length);
    let kid: string;
    do kid = base64urlId(this.random(9));
    while (this.entries.has(kid));
    const e: KeyEntry = { info: { kid, purpose, status, createdAt: this.now() }, key };
    this.entries.set(kid, e);
    return e;
  }

  private replace(entries: KeyEntry[]): void {
    checkInvariants(entries);
    const old = this.entries;
    this.entries = new Map(entries.map((e) => [e.info.kid, e]));
    // Material of keys destroyed elsewhere is wiped here too.
    for (const [kid, e] of old) {
      const now = this.entries.get(kid);
      if (e.key !== undefined && (now === undefined || now.info.status === 'destroyed') && now?.key !== e.key) e.key.fill(0);
    }
    this.rebuild();
  }

  private changed(): void {
    this.rebuild();
    this.emit();
  }

  private rebuild(): void {
    const primaries: Record<KeyPurpose, UsableKey | undefined> = { encrypt: undefined, sign: undefined, hash: undefined };
    const usable: Record<KeyPurpose, UsableKey[]> = { encrypt: [], sign: [], hash: [] };
    const sorted = [...this.entries.values()].sort((a, b) => b.info.createdAt - a.info.createdAt);
    for (const e of sorted) {
      if (e.key === undefined) continue;
      const k: UsableKey = Object.freeze({ kid: e.info.kid, key: e.key });
      if (e.info.status === 'primary') {
        primaries[e.info.purpose] = k;
        usable[e.info.purpose].unshift(k);
      } else if (e.info.status === 'active') {
        usable[e.info.purpose].push(k);
      }
    }
    this.primaries = primaries;
    this.usable = usable;
    this.fingerprint = fingerprintOf(this.entries.values());
  }

  private emit(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // A listener's failure must not undo or interrupt a key change that already happened.
      }
    }
  }
}

/** A cheap identity of a keyset's state (kids, statuses, timestamps) for change detection. */
function fingerprintOf(entries: Iterable<KeyEntry>): string {
  const parts: string[] = [];
  for (const e of entries) parts.push(`${e.info.kid}:${e.info.purpose}:${e.info.status}:${e.info.createdAt}:${e.info.demotedAt ?? ''}`);
  return parts.sort().join('|');
}
