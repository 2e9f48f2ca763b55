/**
 * The keyring: every key the library uses, by purpose, read on the hot path (`primary`, `keyFor`,
 * `keysFor`) and never changed in place by a caller. Changes go through a `KeyringManager`
 * (keyring-manager.ts: rotate, promote, retire, reactivate, destroy and their invariants), whose
 * checked result the keyring installs; a source-backed keyring changes only inside `transaction()`
 * (keyring-source.ts), so every change is locked, re-read and saved.
 *
 * What a keyring always holds, checked on every install:
 * - exactly one primary per purpose that has keys; keys of at least 256 bits (`encrypt` exactly 256);
 * - a destroyed key's material is erased (zeroed in memory, absent from every serialization);
 * - an unusable kid (absent, retired, destroyed, other purpose) is one `unknown_key`.
 */
import { InvalidInputError, KeyStateError, UnknownKeyError } from '../contract/errors.js';
import { wipeKey } from '../crypto/forget.js';
import { optionsObject } from '../util/options.js';
import { type KeysetEnvOptions, KeysetEnvSource } from './env.js';
import { type KeysetFileOptions, KeysetFileSource } from './file.js';
import { type KeyEntry, type KeysetJwks, checkInvariants, parseJwks, toJwks } from './jwks.js';
import { tokenKeysOf } from './token-keys.js';
import { assertFlags, assertFunction, assertKidArg, assertPurpose } from './args.js';
import { KeyringManager, type KeyringManagerOptions, type RetireOptions } from './keyring-manager.js';
import { DEFAULT_MAX_SESSION_LIFETIME_MS, type KeyringOptions, type UsableKey, managerOptions } from './keyring-options.js';
import { type FollowOptions, KeyringSync, type WatchOptions } from './keyring-source.js';
import { redactedView } from './redact.js';
import type { KeyEncryptionProvider } from './providers/types.js';
import type { KeyringSource } from './source.js';
import { type StoreKeysetOptions, StoreKeysetSource, missingMessage } from './store-source.js';
import type { KeysetSlotStore } from '../contract/keyset-slot.js';
import { type WrappedKeysetDocument, unwrapKeyset, wrapKeyset } from './wrapped.js';
import { KEY_PURPOSES, type KeyInfo, type KeyPurpose } from './types.js';

export { type FollowOptions, KeyringManager, type RetireOptions, type WatchOptions };

export { DEFAULT_MAX_SESSION_LIFETIME_MS, type KeyringOptions, type UsableKey };

export class Keyring {
  // Key material lives in private fields only: nothing that walks the object (inspect, JSON,
  // structuredClone, Object.entries) can reach it. See redact.ts.
  #entries = new Map<string, KeyEntry>();
  #primaries: Record<KeyPurpose, UsableKey | undefined> = { encrypt: undefined, sign: undefined, hash: undefined };
  #usable: Record<KeyPurpose, UsableKey[]> = { encrypt: [], sign: [], hash: [] };
  private readonly listeners = new Set<() => void>();
  private readonly managerOptions: KeyringManagerOptions;
  readonly maxSessionLifetimeMs: number;
  private readonly sync: KeyringSync | undefined;

  /** Use `generate()`, `fromFile()`, `fromEnv()`, `fromSource()` or `insecureFromCleartextJwks()`. */
  protected constructor(entries: KeyEntry[], options: KeyringOptions, source?: KeyringSource) {
    this.managerOptions = managerOptions(options);
    this.maxSessionLifetimeMs = this.managerOptions.maxSessionLifetimeMs;
    this.replace(entries);
    const install = (next: KeyEntry[]) => {
      this.replace(next);
      this.emit();
    };
    this.sync = source === undefined ? undefined : new KeyringSync(source, entries, { options: this.managerOptions, install });
    const follow = options.follow;
    if (follow !== undefined && follow !== false && (follow === null || typeof follow !== 'object')) throw new InvalidInputError('follow must be false or an object');
    if (this.sync !== undefined && follow !== undefined && follow !== false) this.sync.follow(follow);
  }

  /** A fresh in-memory keyring with one primary key per purpose. */
  static generate(options: KeyringOptions = {}): Keyring {
    const manager = new KeyringManager([], managerOptions(options));
    for (const purpose of KEY_PURPOSES) manager.rotate(purpose);
    return new Keyring(manager.finish(), options);
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
    if (source === null || typeof source !== 'object' || typeof source.read !== 'function') throw new InvalidInputError('Keyring.fromSource needs a keyset source (read())');
    options = optionsObject(options, 'keyring options');
    let current = await source.read();
    if (current === undefined && options.createIfMissing === true) {
      if (!source.writable || source.transaction === undefined) throw new KeyStateError(`${source.description} is read-only and holds no keyset`);
      await source.transaction(async (existing) => existing ?? Keyring.generate(options).insecureExportCleartextJwks());
      current = await source.read();
    }
    if (current === undefined) {
      const hint = source instanceof KeysetFileSource ? `: the file does not exist; create one with \`sealed-session keys generate --keyset ${source.path}\`, or pass createIfMissing: true` : '';
      throw new KeyStateError(`${source.description} holds no keyset${hint}`);
    }
    return new Keyring(parseJwks(current), options, source);
  }

  /**
   * A keyring backed by a keyset file, wrapped by `provider` (or, with `insecureCleartext: true`,
   * a cleartext JWK Set). `createIfMissing` writes a generated keyset when the file does not exist.
   */
  static async fromFile(path: string, options: KeyringOptions & KeysetFileOptions & { createIfMissing?: boolean }): Promise<Keyring> {
    // Followed by default: a rotation made by another process (the CLI, another instance) must
    // reach this one without a restart, or every session sealed under the new key is `unknown_key`.
    return Keyring.fromSource(new KeysetFileSource(path, options), { ...options, follow: options?.follow ?? {} });
  }

  /**
   * A keyring whose keyset lives in the session store itself (its keyset slot), wrapped by
   * `provider`: for fleets with no shared file system. Changes go through `transaction()`
   * (compare-and-swap on the record); `watch()` polls it. A store holding no keyset is a
   * `key_state` error unless `createIfMissing` (which creates it with `ifAbsent`): see
   * ./store-source.ts for why a vanished keyset is never re-created.
   */
  static async fromStore(store: KeysetSlotStore, options: KeyringOptions & StoreKeysetOptions): Promise<Keyring> {
    options = optionsObject(options, 'keyring options', false);
    const source = new StoreKeysetSource(store, options);
    if (options.createIfMissing !== true && (await source.read()) === undefined) throw new KeyStateError(missingMessage(source.description, false));
    // Followed by default, as a keyset file is: a rotation made by another process must reach this one.
    return Keyring.fromSource(source, { ...options, follow: options.follow ?? { intervalMs: 2000 } });
  }

  /** A read-only keyring from an environment variable holding a wrapped keyset (or, with `insecureCleartext: true`, a JWK Set). */
  static async fromEnv(name: string, options: KeyringOptions & KeysetEnvOptions): Promise<Keyring> {
    return Keyring.fromSource(new KeysetEnvSource(name, options), options);
  }

  /** A keyring from a wrapped keyset document (what `exportWrapped` returns). */
  static async fromWrapped(doc: WrappedKeysetDocument, provider: KeyEncryptionProvider, options: KeyringOptions = {}): Promise<Keyring> {
    if (provider === null || typeof provider !== 'object' || typeof provider.unwrap !== 'function') throw new InvalidInputError('Keyring.fromWrapped needs a key-encryption provider (unwrap())');
    return new Keyring(parseJwks(await unwrapKeyset(doc, provider)), options);
  }

  // ---------------------------------------------------------------- hot path

  /** The primary key of `purpose`: O(1), no allocation. Do not mutate the returned bytes. */
  primary(purpose: KeyPurpose): UsableKey {
    assertPurpose(purpose, 'primary');
    const p = this.#primaries[purpose];
    if (p === undefined) throw new KeyStateError(`the keyring holds no ${purpose} key`);
    return p;
  }

  /**
   * The key `kid` if it is a primary or active key of `purpose`. Anything else - absent, retired,
   * destroyed, or a key of another purpose (kid confusion: a hash key must never decrypt) - is
   * one `unknown_key`.
   */
  keyFor(purpose: KeyPurpose, kid: string): Uint8Array {
    assertPurpose(purpose, 'keyFor');
    if (typeof kid !== 'string') assertKidArg(kid, 'keyFor');
    const e = this.#entries.get(kid);
    if (e === undefined || e.info.purpose !== purpose || e.key === undefined || (e.info.status !== 'primary' && e.info.status !== 'active')) {
      throw new UnknownKeyError();
    }
    return e.key;
  }

  /** Every usable key of `purpose`: the primary first, then the active ones (newest first). */
  keysFor(purpose: KeyPurpose): Array<{ kid: string; key: Uint8Array }> {
    assertPurpose(purpose, 'keysFor');
    return this.#usable[purpose].slice();
  }

  get(kid: string): KeyInfo | undefined {
    assertKidArg(kid, 'get');
    const e = this.#entries.get(kid);
    return e === undefined ? undefined : { ...e.info };
  }

  list(): KeyInfo[] {
    return [...this.#entries.values()].map((e) => ({ ...e.info }));
  }

  /** Calls `listener` after every change (mutation or reload that changed something). Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    assertFunction(listener, 'onChange listener');
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // ---------------------------------------------------------------- changes (in-memory keyrings)
  // Each runs one `KeyringManager` step and installs its result; the rules and errors are the
  // manager's. A source-backed keyring refuses them: use `transaction()`.

  /** `KeyringManager.rotate`: a fresh key of `purpose`, primary unless `activate: false`. */
  rotate(purpose: KeyPurpose, options: { activate?: boolean } = {}): KeyInfo {
    assertPurpose(purpose, 'rotate');
    assertFlags(options, ['activate'], 'rotate');
    return this.change((m) => m.rotate(purpose, options));
  }

  /** `KeyringManager.promote`: an active key becomes primary. */
  promote(kid: string): void {
    assertKidArg(kid, 'promote');
    this.change((m) => m.promote(kid));
  }

  /** `KeyringManager.retire`: never the primary; sign/hash keys only after their lifetime rule unless forced. */
  retire(kid: string, options: RetireOptions = {}): void {
    assertKidArg(kid, 'retire');
    assertFlags(options, ['force'], 'retire');
    this.change((m) => m.retire(kid, options));
  }

  /** `KeyringManager.reactivate`: a retired key back to active. */
  reactivate(kid: string): void {
    assertKidArg(kid, 'reactivate');
    this.change((m) => m.reactivate(kid));
  }

  /** `KeyringManager.destroy`: erases a retired key's material for good. */
  destroy(kid: string): void {
    assertKidArg(kid, 'destroy');
    this.change((m) => m.destroy(kid));
  }

  // ---------------------------------------------------------------- serialization and sources

  /**
   * The keyset as a cleartext JWK Set, key material included. INSECURE: whoever sees the result
   * holds every key. Prefer a keyset file wrapped by a provider.
   */
  insecureExportCleartextJwks(): KeysetJwks {
    return toJwks(this.#entries.values());
  }

  /**
   * Only the keys a session-token check needs (the usable `sign` and `hash` keys), as a cleartext
   * JWK Set for an edge worker's `tokenVerifier` (docs/edge.md). Never the `encrypt` keys. INSECURE
   * still: whoever holds the result can mint tokens that pass a token-only check (though never open
   * or resume a session), so keep it as the edge's secret.
   */
  insecureExportTokenKeys(): KeysetJwks {
    return tokenKeysOf(this.insecureExportCleartextJwks());
  }

  /** The keyset wrapped (encrypted) by `provider`, safe to store; open it with `Keyring.fromWrapped`. */
  async exportWrapped(provider: KeyEncryptionProvider): Promise<WrappedKeysetDocument> {
    if (provider === null || typeof provider !== 'object' || typeof provider.wrap !== 'function' || typeof provider.name !== 'string') {
      throw new InvalidInputError('exportWrapped: provider must be a key-encryption provider ({ name, wrap, unwrap })');
    }
    return wrapKeyset(this.insecureExportCleartextJwks(), provider);
  }

  /** What backs this keyring (e.g. `keyset file keys/app.json`), or undefined for an in-memory one. */
  get sourceDescription(): string | undefined {
    return this.sync?.source.description;
  }

  /** True when changes must go through `transaction()` (the keyring is backed by a writable source). */
  get persistent(): boolean {
    return this.sync?.source.writable === true;
  }

  /**
   * Re-reads the source and replaces the keys when they changed (then fires `onChange`).
   * Resolves whether anything changed. A source that fails to read or parse leaves the keyring as
   * it was and rejects.
   */
  async reload(): Promise<boolean> {
    if (this.sync === undefined) throw new KeyStateError('this keyring has no source to reload from');
    return this.sync.reload();
  }

  /**
   * Reloads whenever the source reports a change (for files: polling their size and mtime, which
   * survives atomic renames). The timer never keeps the process alive. Returns a stop function.
   */
  watch(options: WatchOptions = {}): () => void {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('watch: options must be an object');
    if (options.onError !== undefined) assertFunction(options.onError, 'watch onError');
    if (this.sync === undefined) throw new KeyStateError('this keyring has no source that can be watched');
    return this.sync.watch(options);
  }

  /** Whether this keyring follows its source (see `KeyringOptions.follow`). */
  get following(): boolean {
    return this.sync?.following === true;
  }

  /**
   * For a record or token naming `kid`, which this keyring cannot use: when following, ONE
   * rate-limited reload (keyring-source.ts `catchUp`: threat of forged kids), then whether `kid` is
   * usable now. False at once otherwise; never throws (a failed reload goes to `follow.onError`).
   */
  catchUp(kid: string): Promise<boolean> {
    if (this.sync === undefined || typeof kid !== 'string') return Promise.resolve(false);
    const known = () => {
      const status = this.#entries.get(kid)?.info.status;
      return status === 'primary' || status === 'active';
    };
    return this.sync.catchUp(this.managerOptions.now(), known);
  }

  /** Stops following the source and every `watch()`; the keys stay usable. Idempotent. */
  close(): void {
    this.sync?.close();
  }

  /**
   * Changes a source-backed keyring safely: under the source's lock, reads the stored keyset, hands
   * `fn` a `KeyringManager` over it (call `rotate` / `promote` / `retire` / `reactivate` /
   * `destroy` on it), checks and stores the result, then installs it here and fires `onChange`.
   * If `fn` throws, nothing is stored and this keyring keeps its keys.
   */
  async transaction<T>(fn: (manager: KeyringManager) => T | Promise<T>): Promise<T> {
    assertFunction(fn, 'transaction callback');
    if (this.sync === undefined) throw new KeyStateError('this keyring has no source; change it directly');
    return this.sync.transaction(fn);
  }

  // ---------------------------------------------------------------- internals

  private change<T>(step: (manager: KeyringManager) => T): T {
    if (this.sync !== undefined) {
      // A change made only in this process's memory would be lost on restart and never reach the
      // rest of the fleet (sessions sealed under a key nobody else holds).
      const { source } = this.sync;
      throw new KeyStateError(
        source.writable
          ? `this keyring is backed by ${source.description}: change it inside keyring.transaction(...) so the change is locked and saved`
          : `this keyring is backed by ${source.description}, which is read-only`,
      );
    }
    const manager = new KeyringManager(this.#entries.values(), this.managerOptions);
    const result = step(manager);
    if (manager.changed) {
      this.replace(manager.finish());
      this.emit();
    }
    return result;
  }

  private replace(entries: KeyEntry[]): void {
    checkInvariants(entries);
    const old = this.#entries;
    this.#entries = new Map(entries.map((e) => [e.info.kid, e]));
    // Material of keys destroyed elsewhere is wiped here too.
    for (const [kid, e] of old) {
      const now = this.#entries.get(kid);
      if (e.key !== undefined && (now === undefined || now.info.status === 'destroyed') && now?.key !== e.key) wipeKey(e.key);
    }
    this.rebuild();
  }

  private rebuild(): void {
    const primaries: Record<KeyPurpose, UsableKey | undefined> = { encrypt: undefined, sign: undefined, hash: undefined };
    const usable: Record<KeyPurpose, UsableKey[]> = { encrypt: [], sign: [], hash: [] };
    const sorted = [...this.#entries.values()].sort((a, b) => b.info.createdAt - a.info.createdAt);
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
    this.#primaries = primaries;
    this.#usable = usable;
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

// Logged or serialized, a keyring shows where it comes from and its keys' ids and states only.
redactedView(Keyring, (ring) => ({ source: ring.sourceDescription ?? 'memory', keys: ring.list() }));
