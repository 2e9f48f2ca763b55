/**
 * `sealedKeyv(secure)`: a Keyv storage adapter over a `SecureStore`, so any Keyv user (cache-manager,
 * the libraries built on Keyv) keeps its values encrypted at rest, bound to this store's namespace
 * and TTL-enforced inside the envelope.
 *
 * Keys: every string Keyv accepts (spaces, non-ASCII, very long, leading `~`) is mapped to a
 * session id by a keyed hash (HMAC under the keyring's `hash` key), and the key itself travels
 * sealed inside the record. So a backend dump shows neither keys nor values, and nobody without
 * the key can compute which id holds a given key (no guessing "user:42" in the database).
 * Ids are `kv.<namespace tag>.<key tag>`: `clear()` of one namespace lists ids by that prefix and
 * opens no record. After a `hash` key rotation, reads also try the older hash keys and a write moves
 * the entry to the new id, so entries survive the rotation.
 *
 * Every entry belongs to one service owner (`KEYV_OWNER`): Keyv has no notion of a user, and the
 * owner check then still refuses records that were not written through this adapter.
 */
import type { Owner, ScopedSessionStore, SecureStore, SessionState, SessionStoreError } from '../internal.js';
import { InvalidInputError, KEYV_KEY_LABEL, KEYV_NAMESPACE_LABEL, base64urlEncode, hmacSha256, isSessionStoreError, labelled } from '../internal.js';
import { Emitter } from './emitter.js';

/** The owner every Keyv entry is sealed under. */
export const KEYV_OWNER: Owner = { subject: 'sealed-session-store/keyv' };

const ID_PREFIX = 'kv.';
const PAGE = 500;

export interface SealedKeyvOptions {
  /**
   * TTL of an entry set without one (ms). Default: the store's absolute lifetime, the longest any
   * session of it may live; give the SecureStore a longer `ttl.absoluteMs` for long-lived caches.
   */
  defaultTtlMs?: number;
}

interface Entry {
  /** The full key as Keyv gave it (with its namespace prefix). */
  k: string;
  /** The value as Keyv gave it (Keyv serializes to a string by default). */
  v: SessionState[string];
}

export class SealedKeyvStore extends Emitter {
  /** Keyv reads `opts` (and `opts.dialect`) from its adapters. */
  readonly opts: { dialect: string; url: string };
  /** Set by Keyv to the namespace of the Keyv instance that uses this adapter. */
  namespace: string | undefined;
  private readonly scoped: ScopedSessionStore;
  private readonly defaultTtlMs: number;

  constructor(
    private readonly secure: SecureStore,
    options: SealedKeyvOptions = {},
  ) {
    super();
    this.opts = { dialect: 'sealed-session-store', url: '' };
    this.scoped = secure.for(KEYV_OWNER);
    const fallback = secure.lifetimes.absoluteMs;
    const ttl = options.defaultTtlMs;
    if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > fallback)) {
      throw new InvalidInputError(`defaultTtlMs must be an integer in 1..${fallback} (the store's absolute lifetime)`);
    }
    this.defaultTtlMs = ttl ?? fallback;
  }

  async get(key: string): Promise<unknown> {
    const found = await this.find(key);
    return found?.entry.v ?? undefined;
  }

  async getMany(keys: string[]): Promise<unknown[]> {
    return Promise.all(keys.map((k) => this.get(k)));
  }

  async has(key: string): Promise<boolean> {
    return (await this.find(key)) !== undefined;
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    try {
      const ids = this.idsFor(key);
      const ttlMs = ttl === undefined || ttl === null ? this.defaultTtlMs : Math.min(Math.max(1, Math.ceil(ttl)), this.secure.lifetimes.absoluteMs);
      await this.scoped.save(ids[0]!, { k: key, v: value as Entry['v'] }, { ttlMs });
      // An entry written under an older hash key would shadow nothing (reads try the primary first)
      // but would come back if the primary's copy expired first: remove it.
      await Promise.all(ids.slice(1).map((id) => this.scoped.delete(id)));
      return true;
    } catch (err) {
      this.emit('error', err);
      return false;
    }
  }

  async setMany(values: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    await Promise.all(values.map((e) => this.set(e.key, e.value, e.ttl)));
  }

  async delete(key: string): Promise<boolean> {
    const found = await this.find(key);
    await Promise.all(this.idsFor(key).map((id) => this.scoped.delete(id)));
    return found !== undefined;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    const results = await Promise.all(keys.map((k) => this.delete(k)));
    return results.some(Boolean);
  }

  /** Removes every entry of this adapter's namespace (every entry when it has none). */
  async clear(): Promise<void> {
    const prefixes = this.namespacePrefixes();
    for await (const id of this.ids()) {
      if (prefixes.some((p) => id.startsWith(p))) await this.scoped.delete(id);
    }
  }

  /** `[key, value]` for every live entry of `namespace` (Keyv strips the prefix). */
  async *iterator(namespace?: string): AsyncGenerator<[string, unknown], void> {
    const prefixes = this.namespacePrefixes(namespace ?? this.namespace);
    for await (const id of this.ids()) {
      if (!prefixes.some((p) => id.startsWith(p))) continue;
      const entry = await this.open(id);
      if (entry !== undefined) yield [entry.k, entry.v];
    }
  }

  /** The injected SecureStore is the application's: closing it is the application's call. */
  async disconnect(): Promise<void> {}

  // ------------------------------------------------------------------ internals

  private async find(key: string): Promise<{ id: string; entry: Entry } | undefined> {
    for (const id of this.idsFor(key)) {
      const entry = await this.open(id);
      // The sealed key must equal the asked one: a hash collision (or an entry planted by a key
      // holder under another key's id) never answers for a key it was not written for.
      if (entry !== undefined && entry.k === key) return { id, entry };
    }
    return undefined;
  }

  private async open(id: string): Promise<Entry | undefined> {
    try {
      const state = await this.scoped.load(id);
      return typeof state.k === 'string' && 'v' in state ? (state as unknown as Entry) : undefined;
    } catch (err) {
      if (isSessionStoreError(err, 'not_found') || isSessionStoreError(err, 'expired')) return undefined;
      // Anything else (integrity, an owner mismatch, an outage) is reported, never a silent miss.
      this.emit('error', err as SessionStoreError);
      throw err;
    }
  }

  /** The ids `key` may live under: the primary hash key's first, then older ones. */
  private idsFor(key: string): string[] {
    if (typeof key !== 'string') throw new InvalidInputError('a Keyv key must be a string');
    const ns = namespaceOf(key, this.namespace);
    return this.secure.keyring.keysFor('hash').map(({ key: k }) => `${ID_PREFIX}${tag(k, KEYV_NAMESPACE_LABEL, ns)}.${tagFull(k, KEYV_KEY_LABEL, key)}`);
  }

  private namespacePrefixes(namespace = this.namespace): string[] {
    const ns = namespace ?? '';
    if (ns === '') return [ID_PREFIX];
    return this.secure.keyring.keysFor('hash').map(({ key: k }) => `${ID_PREFIX}${tag(k, KEYV_NAMESPACE_LABEL, ns)}.`);
  }

  private async *ids(): AsyncGenerator<string, void> {
    let cursor: string | undefined;
    do {
      const page = await this.secure.listActive(cursor === undefined ? { limit: PAGE } : { limit: PAGE, cursor });
      for (const id of page.ids) if (id.startsWith(ID_PREFIX)) yield id;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
}

/** The namespace part of a Keyv key (`ns:key`), when the adapter's namespace is set. */
function namespaceOf(key: string, namespace: string | undefined): string {
  return namespace !== undefined && namespace !== '' && key.startsWith(`${namespace}:`) ? namespace : '';
}

function tag(key: Uint8Array, label: string, text: string): string {
  return base64urlEncode(hmacSha256(key, labelled(label, text)).subarray(0, 9));
}

function tagFull(key: Uint8Array, label: string, text: string): string {
  return base64urlEncode(hmacSha256(key, labelled(label, text)));
}

/** A Keyv storage adapter over `secure`. */
export function sealedKeyv(secure: SecureStore, options: SealedKeyvOptions = {}): SealedKeyvStore {
  return new SealedKeyvStore(secure, options);
}
