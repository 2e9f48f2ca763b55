/**
 * The namespace registry: where the sessions and MCP events sealed under a keyset live, so that
 * `sealed-session keys retire` / `destroy` / `rekey` walk every one of them, not only the
 * namespace (Redis prefix, SQL table) the operator happened to name.
 *
 * Threat: destroying a key that still seals live data. Without it, a CLI run with `SSS_NAMESPACE`
 * unset walked the default prefix, found nothing sealed under the old key, and let it be retired
 * and destroyed while thousands of sessions of the application's prefix still needed it.
 *
 * Where the registry lives, by backend:
 * - Redis: records under the prefix `sss:~namespaces:`, outside every namespace's own prefix
 *   (`sss:<ns>:`), so a CLI connected to the same server finds every prefix whatever it was told.
 * - PostgreSQL / PGlite: records in the session table itself, under reserved ids (`~ns.…`, which
 *   sessions can never take) filed under one index, so they are listed without a table walk.
 *
 * Each record names one (keyset, kind, namespace, location). The keyset is named by the kid of its
 * oldest key: a keyset never drops a kid (a destroyed key stays listed), so every later version of
 * the keyset still holds it, and kids are random, so another keyset's records are told apart and
 * left out of the walk. `createSessionStore` writes the sessions'
 * record when it opens a store, `McpHandler` the events' record when its event log lives on a
 * Redis prefix or SQL table. Records are plain JSON (names, not secrets) and are refreshed on every
 * open; they expire a year after the last open. Someone with write access to the backend could
 * delete them, but could delete the sessions as well: the registry guards against mistakes, not
 * against the backend's administrator.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { RecordStore } from '../contract/store.js';
import { isPlainObject } from '../contract/validate.js';
import { RedisStore, type RedisClient } from '../backends/redis/index.js';
import { SqlBackendStore } from '../backends/sql.js';
import { type PgPool, PostgresStore } from '../backends/postgres.js';
import type { Keyring } from '../keys/keyring.js';
import { base64urlEncode, utf8Encode } from '../util/bytes.js';
import { type SecureStore, unsafeLayersOf } from '../secure-store.js';
import { NAMESPACE_INDEX, NAMESPACE_RECORD_PREFIX } from './namespace-ids.js';

export const REDIS_REGISTRY_PREFIX = 'sss:~namespaces:';
/** A registry record lives this long after the last open that refreshed it. */
const REGISTRY_TTL_MS = 366 * 86_400_000;

export type NamespaceKind = 'sessions' | 'events';

/** Where a namespace's records are: a Redis prefix or a SQL table (of the registry's server). */
export interface NamespaceLocation {
  prefix?: string;
  table?: string;
}

export interface NamespaceEntry extends NamespaceLocation {
  /** The kid of the keyset's oldest key (see above). */
  keyset: string;
  kind: NamespaceKind;
  /** The envelope namespace (events: the session namespace + ':events'). */
  namespace: string;
  /** When a process last opened it (epoch ms). */
  seenAt: number;
}

/** The Redis client behind a RedisStore made by `createSessionStore` (RedisStore keeps its own private). */
const REDIS_CLIENTS = new WeakMap<RecordStore, RedisClient>();

/** Called by whoever built `store` on `client`, so the registry and sibling prefixes can share the connection. */
export function noteRedisClient(store: RecordStore, client: RedisClient): void {
  REDIS_CLIENTS.set(store, client);
}

/** The pool behind a PostgresStore made by `createSessionStore`, so other recorded tables can be walked on it. */
const PG_POOLS = new WeakMap<RecordStore, PgPool>();

export function notePgPool(store: RecordStore, pool: PgPool): void {
  PG_POOLS.set(store, pool);
}

/** Where `backend` keeps its records, or undefined for a backend the registry cannot describe (memory, custom). */
export function locationOf(backend: RecordStore): NamespaceLocation | undefined {
  if (backend instanceof RedisStore) return { prefix: backend.prefix };
  if (backend instanceof SqlBackendStore) return { table: backend.table };
  return undefined;
}

/**
 * The registry's store for a backend: a RedisStore on the same connection (when its client is
 * known), or the SQL store itself. Undefined when the backend has no registry (memory, custom).
 */
export function registryOf(backend: RecordStore, now?: () => number): RecordStore | undefined {
  const client = REDIS_CLIENTS.get(backend);
  if (client !== undefined) return new RedisStore({ client, prefix: REDIS_REGISTRY_PREFIX, ...(now === undefined ? {} : { now }) });
  if (backend instanceof SqlBackendStore) return backend;
  return undefined;
}

/**
 * A store over another location of the same server: a Redis prefix on the same client, or the
 * same SQL store when the table is its own, another table on the same PostgreSQL pool. Undefined
 * when it cannot be reached on this connection (another table of a PGlite directory).
 */
export function siblingOf(backend: RecordStore, location: NamespaceLocation, now?: () => number): RecordStore | undefined {
  const client = REDIS_CLIENTS.get(backend);
  if (client !== undefined && location.prefix !== undefined) {
    if (backend instanceof RedisStore && backend.prefix === location.prefix) return backend;
    return new RedisStore({ client, prefix: location.prefix, ...(now === undefined ? {} : { now }) });
  }
  if (backend instanceof SqlBackendStore && location.table !== undefined && location.table === backend.table) return backend;
  const pool = PG_POOLS.get(backend);
  if (pool !== undefined && location.table !== undefined) return new PostgresStore({ pool, table: location.table, ...(now === undefined ? {} : { now }) });
  return undefined;
}

/** The name of a keyset in the registry: the kid of its oldest key (ties: the smallest kid). */
export function keysetIdOf(keyring: Keyring): string {
  const keys = keyring.list().sort((a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : 1));
  return keys[0]?.kid ?? '';
}

function entryId(keyset: string, kind: NamespaceKind, namespace: string, location: NamespaceLocation): string {
  const text = JSON.stringify([keyset, kind, namespace, location.prefix ?? null, location.table ?? null]);
  return NAMESPACE_RECORD_PREFIX + base64urlEncode(sha256(utf8Encode(text)).subarray(0, 16));
}

/** Writes (or refreshes) the record of one namespace. */
export async function registerNamespace(
  registry: RecordStore,
  entry: { keyset: string; kind: NamespaceKind; namespace: string } & NamespaceLocation,
  now: number,
): Promise<void> {
  const location: NamespaceLocation = entry.prefix !== undefined ? { prefix: entry.prefix } : entry.table !== undefined ? { table: entry.table } : {};
  const value = { v: 1, keyset: entry.keyset, kind: entry.kind, namespace: entry.namespace, ...location, seenAt: now };
  await registry.saveRecord(entryId(entry.keyset, entry.kind, entry.namespace, location), value, { expiresAt: now + REGISTRY_TTL_MS, index: NAMESPACE_INDEX });
}

function parseEntry(value: unknown): NamespaceEntry | undefined {
  if (!isPlainObject(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (v.v !== 1 || typeof v.keyset !== 'string' || (v.kind !== 'sessions' && v.kind !== 'events') || typeof v.namespace !== 'string' || typeof v.seenAt !== 'number') return undefined;
  const prefix = typeof v.prefix === 'string' ? { prefix: v.prefix } : {};
  const table = typeof v.table === 'string' ? { table: v.table } : {};
  return { keyset: v.keyset, kind: v.kind, namespace: v.namespace, seenAt: v.seenAt, ...prefix, ...table };
}

/** Every namespace recorded in `registry` for `keyring`'s keyset (other keysets' and unreadable records are left out). */
export async function listNamespaces(registry: RecordStore, keyring: Keyring): Promise<NamespaceEntry[]> {
  const kids = new Set(keyring.list().map((k) => k.kid));
  const out: NamespaceEntry[] = [];
  let cursor: string | undefined;
  do {
    const page =
      registry.listByIndex !== undefined
        ? await registry.listByIndex(NAMESPACE_INDEX, cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor })
        : await registry.listActive(cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor });
    const ids = page.ids.filter((id) => id.startsWith(NAMESPACE_RECORD_PREFIX));
    for (const rec of await Promise.all(ids.map((id) => registry.loadRecord(id)))) {
      const entry = rec === undefined ? undefined : parseEntry(rec.value);
      if (entry !== undefined && kids.has(entry.keyset)) out.push(entry);
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
}

/**
 * Records where an MCP event log of `store` keeps its events, in the registry of the session
 * store's backend (so the CLI finds both from one connection). Best effort and silent: nothing
 * happens for backends the registry cannot describe, and a failed write never stops the server.
 */
export function registerEventsNamespace(store: SecureStore, eventsBackend: RecordStore, namespace: string, now: number): Promise<void> {
  const registry = registryOf(unsafeLayersOf(store).backend);
  const location = locationOf(eventsBackend);
  if (registry === undefined || location === undefined) return Promise.resolve();
  return registerNamespace(registry, { keyset: keysetIdOf(store.keyring), kind: 'events', namespace, ...location }, now).catch(() => {});
}
