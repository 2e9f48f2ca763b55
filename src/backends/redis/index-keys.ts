/**
 * RedisStore's per-index listing (`SaveRecordOptions.index`, `listByIndex`).
 *
 * Key layout, per index key X, two keys in ONE Cluster slot (the hash tag is `{X}`), so every
 * script below touches one slot and works on a single server and on a Cluster alike:
 *   `<prefix>~ix {X}`    a sorted set of the ids filed under X, all at score 0 (so it pages in id
 *                        order with ZRANGEBYLEX);
 *   `<prefix>~ix {X}:t`  a hash id -> when the id was last filed there (the store's injected clock, ms).
 * The space makes both names impossible as `<prefix><id>` (ids are visible ASCII), so no record
 * can collide with them and the SCAN walks of ./scan.ts skip them. Both carry a TTL at least as
 * long as the native TTL of the last record filed, so the index of a subject nobody writes any
 * more ends with its records.
 *
 * A record lives in another slot, so "file the record" and "write the record" cannot be one
 * script on a Cluster. The order keeps the index a SUPERSET of the live records filed under it:
 * an indexed save files the id first (INDEX_ADD), then writes the record; the record hash keeps its
 * index in field `i`. Nothing is removed from the index when a record is deleted, expires or moves:
 * `listByIndex` returns only ids whose record still says `i = X`, and prunes the others once they
 * were filed longer ago than any save can take (`pruneAfterMs`) and only if nobody filed them again
 * meanwhile (PRUNE compares the filing time it read): so a listing never drops the id of a create
 * whose record write is still in flight.
 */
import { idCursor } from '../../contract/cursor.js';
import { assertIndexKey } from '../../contract/index-key.js';
import type { ListOptions, ListPage } from '../../contract/store.js';
import { normalizeLimit } from '../../contract/validate.js';
import { type RedisConnection, type Script, script } from './connection.js';
import { type RedisCommands, isReplyError } from './commands.js';

export interface IndexContext {
  readonly commands: RedisCommands;
  readonly connection: RedisConnection;
  readonly prefix: string;
  /** How long after its filing an id whose record is gone or elsewhere may be pruned. */
  readonly pruneAfterMs: number;
  now(): number;
}

/** KEYS = set, times; ARGV = id, filed-at (ms), px. Files `id` and stretches both TTLs to at least px. */
const INDEX_ADD: Script = script(`
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local px = tonumber(ARGV[3])
for _, k in ipairs(KEYS) do
  local t = redis.call('PTTL', k)
  if t < px then redis.call('PEXPIRE', k, px) end
end
return 1
`);

/** KEYS = set, times; ARGV = after ('-' or '(' .. id), count. One page: id, filed-at, id, filed-at… */
const INDEX_PAGE: Script = script(`
local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return out
`);

/** KEYS = set, times; ARGV = id, the filed-at read. Unfiles `id` unless it was filed again since. */
const INDEX_PRUNE: Script = script(`
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
`);

const cursors = idCursor('rx1.');

/** The two keys of index `index` (see the header: never a record's key). */
export function indexKeys(prefix: string, index: string): [string, string] {
  const set = `${prefix}~ix {${index}}`;
  return [set, `${set}:t`];
}

/** Files `id` under `index` until at least `px` ms from now; sent before the record write (see the header). */
export function fileUnder(ctx: IndexContext, index: string, id: string, px: number, version: string): Promise<unknown> {
  const keys = indexKeys(ctx.prefix, index);
  const args = [id, String(Math.floor(ctx.now())), String(px)];
  return ctx.connection.run('save', 'idempotent', ctx.commands.readiness, () => ctx.connection.evalScript(ctx.commands, INDEX_ADD, keys, args), version);
}

/** One page of the ids filed under `index` whose record still says so (expired ones too, until Redis drops them). */
export async function listByIndex(ctx: IndexContext, index: string, options: ListOptions = {}): Promise<ListPage> {
  assertIndexKey(index);
  const limit = normalizeLimit(options.limit);
  const after = options.cursor === undefined ? undefined : cursors.decode(options.cursor);
  const keys = indexKeys(ctx.prefix, index);
  const range = after === undefined ? '-' : `(${after}`;
  const raw = await ctx.connection.run('listByIndex', 'idempotent', ctx.commands.readiness, () =>
    ctx.connection.evalScript(ctx.commands, INDEX_PAGE, keys, [range, String(limit + 1)]),
  );
  const flat = Array.isArray(raw) ? raw.map(String) : [];
  const entries: { id: string; filedAt: string }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ id: flat[i]!, filedAt: flat[i + 1]! });
  const more = entries.length > limit;
  const page = entries.slice(0, limit);
  const filed = await filedIndexOf(ctx, page.map((e) => e.id));
  const ids: string[] = [];
  const cutoff = ctx.now() - ctx.pruneAfterMs;
  const stale: { id: string; filedAt: string }[] = [];
  page.forEach((e, i) => {
    if (filed[i] === index) ids.push(e.id);
    else if (filed[i] !== undefined && (e.filedAt === '' || Number(e.filedAt) < cutoff)) stale.push(e);
  });
  // Best-effort: a failed prune is tried again by the next listing.
  await Promise.all(stale.map((e) => ctx.connection.evalScript(ctx.commands, INDEX_PRUNE, keys, [e.id, e.filedAt]).catch(() => undefined)));
  const last = page[page.length - 1];
  return more && last !== undefined ? { ids, cursor: cursors.encode(last.id) } : { ids };
}

/**
 * The `i` field of each id's record: the index string, '' when the record is gone or unfiled,
 * undefined when it could not be read (left alone). Records live in other slots than the index: one
 * pipeline on a single server, one routed command per id on a Cluster.
 */
async function filedIndexOf(ctx: IndexContext, ids: string[]): Promise<(string | undefined)[]> {
  if (ids.length === 0) return [];
  const keys = ids.map((id) => ctx.prefix + id);
  if (!ctx.commands.isCluster) {
    const res = await ctx.connection.pipelined('listByIndex', 'idempotent', ctx.commands, undefined, keys, (key) => ['HGET', key, 'i']);
    return res.map((r) => (r[0] === null ? ((r[1] as string | null) ?? '') : undefined));
  }
  return Promise.all(
    keys.map((key) =>
      ctx.connection
        .run('listByIndex', 'idempotent', ctx.commands.readiness, () => ctx.commands.hget(key, 'i'))
        .then((v) => v ?? '')
        .catch((err: unknown) => {
          if (isReplyError(err)) return undefined; // a foreign key of another type: not ours to judge
          throw err;
        }),
    ),
  );
}

/**
 * What this process filed itself, so an update of its own last write need not file again (one
 * script and one round trip less per owned write). Per id: the index, the version this process
 * wrote after filing, and until when the index keys live (the filing stretched them to twice the
 * record's native TTL, so renewals within that slack skip the filing).
 *
 * Skipping is sound only when all of these hold, and `skip` checks each:
 * - the write is conditional on exactly the version recorded here: that record is this process's
 *   own write, filed under this index before it was written, and still present (a version token
 *   never repeats, so a delete and re-create in between would have changed it); an id is pruned
 *   from an index only when its record is gone or names another index, so the filing still stands;
 * - the new write names the same index;
 * - the index keys outlive the new record (`now + px` within the stretched lifetime).
 * Threat if any were skipped wrongly: a record missing from its owner's index, which `revokeOwner`
 * (log out everywhere) would then miss.
 */
export class FiledByUs {
  private readonly entries = new Map<string, { index: string; version: string; until: number }>();
  constructor(private readonly max = 10_000) {}

  skip(id: string, index: string, ifVersion: string | undefined, until: number): boolean {
    const e = this.entries.get(id);
    return e !== undefined && ifVersion !== undefined && e.version === ifVersion && e.index === index && until <= e.until;
  }

  /** After a write of `version` filed under `index` (keys alive until `until`, or kept from before when not refiled). */
  note(id: string, index: string, version: string, until: number): void {
    if (this.entries.size >= this.max && !this.entries.has(id)) this.entries.clear();
    this.entries.set(id, { index, version, until });
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  until(id: string): number | undefined {
    return this.entries.get(id)?.until;
  }
}
