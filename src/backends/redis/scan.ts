/**
 * RedisStore's walks over the keyspace: `listActive` pages and `cleanupExpired`. No index is kept,
 * so there is no hot key or slot: both walk SCAN over every master node in turn, in the sorted
 * order of the node names (`host:port`, or '' for a single server).
 *
 * The `listActive` cursor is opaque to callers: where the walk stands (the current node and its
 * SCAN cursor, every node sorting before it being finished) plus the ids of the last SCAN batch
 * that did not fit in the page. It comes back from callers, so decoding is strict and bounded: a
 * forged cursor is refused with `invalid_input` or, at worst, makes the store look up a bounded
 * number of ids it would have listed anyway (carried ids are re-checked against the server before
 * they are returned).
 */
import { InvalidInputError } from '../../contract/errors.js';
import type { ListOptions, ListPage } from '../../contract/store.js';
import { MAX_ID_LENGTH, assertSessionId, normalizeLimit } from '../../contract/validate.js';
import { base64urlDecode, base64urlEncode, utf8Decode, utf8Encode } from '../../util/bytes.js';
import { type RedisConnection, type Script, TRANSIENT_REPLY } from './connection.js';
import { type RedisCommands, type RedisNode, isReplyError } from './commands.js';

/** What a walk needs from its store. */
export interface ScanContext {
  readonly commands: RedisCommands;
  readonly connection: RedisConnection;
  readonly prefix: string;
  /** The conditional delete script (KEYS[1] = record, ARGV[1] = version). */
  readonly deleteScript: Script;
  now(): number;
}

const SCAN_COUNT_MAX = 1000;
/** SCAN calls one `listActive` page may make before it returns what it has (bounded latency on a sparse keyspace). */
const MAX_SCANS_PER_PAGE = 64;

/**
 * One page of live ids, walking SCAN over every master node in turn.
 *
 * What SCAN guarantees, and so what this promises: an id present for the whole walk is returned
 * at least once; an id created or deleted during the walk may or may not be. SCAN can return a key
 * twice when a node's hash table shrinks during the walk (or across a Cluster resharding): ids
 * are de-duplicated within a page, but a repeat across pages is only possible in that case, so a
 * caller that must never see one keeps a Set of the ids it has seen. COUNT is only a hint, so a
 * SCAN batch that overflows the page is carried in the cursor (and re-checked on the next page)
 * instead of being dropped (up to MAX_CARRIED_IDS; a bigger overflow makes the next page scan that
 * batch again, which may repeat ids but never misses one). A page may hold fewer than `limit` ids
 * while a cursor is still returned (a sparse keyspace); no cursor means the walk is over.
 */
export async function listActive(ctx: ScanContext, options: ListOptions = {}): Promise<ListPage> {
  const limit = normalizeLimit(options?.limit);
  const start: ScanPosition = options?.cursor === undefined ? { node: '', scan: '0', carried: [] } : decodeListCursor(options.cursor);
  const nodes = await scanNodes(ctx);
  const first = options?.cursor === undefined;
  const match = matchPattern(ctx.prefix);
  // Nodes are visited in name order; one that vanished (topology change) is skipped and the walk
  // continues with the next name, one that appeared is visited if it sorts later.
  let index = first ? 0 : nodes.findIndex((n) => n.name >= start.node);
  if (index === -1) index = nodes.length;
  let scan = !first && nodes[index]?.name === start.node ? start.scan : '0';
  const ids: string[] = [];
  const seen = new Set<string>();
  const carried: string[] = [];
  let candidates = start.carried;
  let candidatesVia: RedisNode | undefined;
  /** Where the batch in `candidates` came from, to scan it again if it overflows the cursor (below). */
  let batchStart: { index: number; scan: string } | undefined;
  let scans = 0;
  for (;;) {
    if (candidates.length > 0) {
      for (const id of await liveIds(ctx, candidates, candidatesVia)) {
        if (seen.has(id)) continue;
        seen.add(id);
        if (ids.length < limit) ids.push(id);
        else carried.push(id);
      }
      candidates = [];
    }
    if (ids.length >= limit || carried.length > 0) break;
    const node = nodes[index];
    if (node === undefined || scans >= MAX_SCANS_PER_PAGE) break;
    const count = Math.min(SCAN_COUNT_MAX, Math.max(100, 2 * (limit - ids.length)));
    const cur = scan;
    const [next, keys] = await ctx.connection.run('list', 'read', node.readiness, () => ctx.commands.scan(node, cur, match, count));
    scans++;
    candidates = idsOf(ctx.prefix, keys);
    candidatesVia = node;
    batchStart = { index, scan: cur };
    if (next === '0') {
      index++;
      scan = '0';
    } else {
      scan = next;
    }
  }
  if (carried.length > MAX_CARRIED_IDS && batchStart !== undefined) {
    // Pathological overflow (a SCAN batch of thousands of ids, e.g. long hash chains while a fork
    // blocks rehashing): rather than drop ids or grow the cursor without bound, the next page scans
    // this batch again. Ids of this page may then repeat; none is missed.
    const again = nodes[batchStart.index];
    if (again !== undefined) return { ids, cursor: encodeListCursor({ node: again.name, scan: batchStart.scan, carried: [] }) };
  }
  const node = nodes[index];
  if (node === undefined && carried.length === 0) return { ids };
  // Past the last node, '\u007f' sorts after every node name: only the carried ids remain.
  return { ids, cursor: encodeListCursor({ node: node?.name ?? '\u007f', scan: node === undefined ? '0' : scan, carried }) };
}

/**
 * Removes every record whose `expiresAt` has passed by the injected clock; resolves the true number
 * removed. Batched: SCAN 1000 keys, one pipelined HMGET for their `e`/`r`, one pipelined
 * version-checked delete for the expired ones, so a record rewritten between the read and the
 * delete (a concurrent `save` or `updateTtl`) is left alone and not counted.
 */
export async function cleanupExpired(ctx: ScanContext): Promise<number> {
  const now = ctx.now();
  const match = matchPattern(ctx.prefix);
  let removed = 0;
  for (const node of await scanNodes(ctx)) {
    let scan = '0';
    do {
      const cur = scan;
      const [next, keys] = await ctx.connection.run('cleanup', 'read', node.readiness, () => ctx.commands.scan(node, cur, match, SCAN_COUNT_MAX));
      scan = next;
      const ids = idsOf(ctx.prefix, keys);
      if (ids.length === 0) continue;
      const meta = await ctx.connection.pipelined('cleanup', 'read', ctx.commands, node, keysOf(ctx.prefix, ids), (key) => ['HMGET', key, 'e', 'r']);
      const expired: { id: string; version: string }[] = [];
      ids.forEach((id, i) => {
        const m = meta[i];
        if (m === undefined || m[0] !== null || !Array.isArray(m[1])) return; // error reply (moved, wrong type): next run
        const [e, r] = m[1] as (string | null)[];
        if (e != null && r != null && Number(e) <= now) expired.push({ id, version: r });
      });
      if (expired.length === 0) continue;
      const calls = expired.map((x): [string, string[]] => [ctx.prefix + x.id, [x.version]]);
      const results = await ctx.connection.pipelinedScript('cleanup', 'conditional', ctx.commands, node, ctx.deleteScript, calls);
      for (const res of results) if (res[0] === null && res[1] === 1) removed++;
    } while (scan !== '0');
  }
  return removed;
}

/** Masters to SCAN, sorted by name: the client itself, or each master of a Cluster. */
function scanNodes(ctx: ScanContext): Promise<RedisNode[]> {
  return ctx.connection.run('list', 'read', ctx.commands.readiness, () => ctx.commands.masters());
}

/** The ids among `ids` whose record exists and has not expired by the injected clock. */
async function liveIds(ctx: ScanContext, ids: string[], via: RedisNode | undefined): Promise<string[]> {
  const now = ctx.now();
  const cmds = ctx.commands;
  const cluster = cmds.isCluster;
  // A batch found on one node is checked on that node in one pipeline; carried ids (from a cursor)
  // through the main client, which routes each key to its Cluster node.
  const results: (string | null | undefined)[] =
    via !== undefined || !cluster
      ? (await ctx.connection.pipelined('list', 'read', cmds, via, keysOf(ctx.prefix, ids), (key) => ['HGET', key, 'e'])).map((r) =>
          r[0] === null ? (r[1] as string | null) : undefined,
        )
      : await Promise.all(
        ids.map((id) =>
          ctx.connection.run('list', 'read', cmds.readiness, () =>
            // An error reply here (a foreign key of another type under the prefix) is "not a live session".
            cmds.hget(ctx.prefix + id, 'e').catch((err: unknown) => {
              if (isReplyError(err) && !TRANSIENT_REPLY.test(err.message)) return null;
              throw err;
            }),
          ),
        ),
      );
  const live: string[] = [];
  const retry: string[] = [];
  ids.forEach((id, i) => {
    const e = results[i];
    if (e === undefined) retry.push(id);
    else if (e !== null && Number(e) > now) live.push(id);
  });
  // An error reply in a node's pipeline (MOVED during a resharding, or a foreign key of another type):
  // ask again through the Cluster client, which follows redirections; a foreign key stays out.
  if (retry.length > 0 && cluster && via !== undefined) {
    for (const id of await liveIds(ctx, retry, undefined)) live.push(id);
  }
  return live;
}

function keysOf(prefix: string, ids: string[]): string[] {
  return ids.map((id) => prefix + id);
}

/** The session ids among SCAN's keys (a foreign key under the prefix that is no valid id is skipped). */
function idsOf(prefix: string, keys: string[]): string[] {
  const ids: string[] = [];
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const id = key.slice(prefix.length);
    if (isSessionId(id)) ids.push(id);
  }
  return ids;
}

function isSessionId(id: string): boolean {
  try {
    assertSessionId(id);
    return true;
  } catch {
    return false;
  }
}

/** SCAN MATCH for every key under `prefix`, its glob characters escaped so it matches literally. */
function matchPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
}

// ---- the listActive cursor ------------------------------------------------------------------

const CURSOR_PREFIX = 'r1.';
/**
 * Most ids a cursor may carry to the next page. A SCAN batch holds about COUNT (at most 1000) times
 * the hash table's load factor, which Redis keeps under 5 even while a fork defers rehashing.
 */
export const MAX_CARRIED_IDS = 5000;
const MAX_NODE_NAME = 300;
/** The largest SCAN cursor a server can hand out (an unsigned 64-bit integer). */
const MAX_SCAN_CURSOR = 2n ** 64n - 1n;
/** Bounds the work a forged cursor can cause before it is even parsed. */
const MAX_CURSOR_LENGTH = Math.ceil(((MAX_CARRIED_IDS * (MAX_ID_LENGTH + 3) + MAX_NODE_NAME + 64) * 4) / 3) + CURSOR_PREFIX.length;

export interface ScanPosition {
  /** Name of the node being scanned ('' for a single server). */
  node: string;
  /** That node's SCAN cursor: unsigned decimal, '0' = start the node from the beginning. */
  scan: string;
  /** Ids found but not yet returned; re-checked before they are. */
  carried: string[];
}

export function encodeListCursor(pos: ScanPosition): string {
  return CURSOR_PREFIX + base64urlEncode(utf8Encode(JSON.stringify([pos.node, pos.scan, pos.carried])));
}

export function decodeListCursor(cursor: unknown): ScanPosition {
  const pos = tryDecode(cursor);
  if (pos === undefined) throw new InvalidInputError('cursor is not one this store issued');
  return pos;
}

function tryDecode(cursor: unknown): ScanPosition | undefined {
  if (typeof cursor !== 'string' || !cursor.startsWith(CURSOR_PREFIX) || cursor.length > MAX_CURSOR_LENGTH) return undefined;
  const bytes = base64urlDecode(cursor.slice(CURSOR_PREFIX.length));
  const text = bytes === undefined ? undefined : utf8Decode(bytes);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) return undefined;
  const [node, scan, carried] = parsed as unknown[];
  if (typeof node !== 'string' || node.length > MAX_NODE_NAME) return undefined;
  // SCAN cursors are unsigned 64-bit integers in decimal. Twenty digits also spell numbers past
  // 2^64 - 1, which the server refuses ("invalid cursor"): refused here, a forged position is bad
  // input, not an outage.
  if (typeof scan !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(scan) || BigInt(scan) > MAX_SCAN_CURSOR) return undefined;
  if (!Array.isArray(carried) || carried.length > MAX_CARRIED_IDS) return undefined;
  for (const id of carried) {
    try {
      assertSessionId(id);
    } catch {
      return undefined;
    }
  }
  return { node, scan, carried: carried as string[] };
}
