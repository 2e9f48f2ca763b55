/**
 * The opaque `listActive` cursor of RedisStore: where a SCAN walk stands across the nodes of a
 * standalone server or a Redis Cluster, plus the ids of the last SCAN batch that did not fit in
 * the page. Nodes are walked one after another in the sorted order of their names (`host:port`,
 * or '' for a single server), so the cursor only has to name the current node and its SCAN cursor:
 * every node sorting before it is finished.
 *
 * The cursor comes back from callers, so decoding is strict and bounded: a forged cursor is refused
 * with `invalid_input` or, at worst, makes the store look up a bounded number of ids it would have
 * listed anyway (carried ids are re-checked against the server before they are returned).
 */
import { InvalidInputError } from '../contract/errors.js';
import { MAX_ID_LENGTH, assertSessionId } from '../contract/validate.js';
import { base64urlDecode, base64urlEncode, utf8Decode, utf8Encode } from '../util/bytes.js';

const PREFIX = 'r1.';
/**
 * Most ids a cursor may carry to the next page. A SCAN batch holds about COUNT (at most 1000) times
 * the hash table's load factor, which Redis keeps under 5 even while a fork defers rehashing.
 */
export const MAX_CARRIED_IDS = 5000;
const MAX_NODE_NAME = 300;
/** Bounds the work a forged cursor can cause before it is even parsed. */
const MAX_CURSOR_LENGTH = Math.ceil(((MAX_CARRIED_IDS * (MAX_ID_LENGTH + 3) + MAX_NODE_NAME + 64) * 4) / 3) + PREFIX.length;

export interface ScanPosition {
  /** Name of the node being scanned ('' for a single server). */
  node: string;
  /** That node's SCAN cursor: unsigned decimal, '0' = start the node from the beginning. */
  scan: string;
  /** Ids found but not yet returned; re-checked before they are. */
  carried: string[];
}

export function encodeListCursor(pos: ScanPosition): string {
  return PREFIX + base64urlEncode(utf8Encode(JSON.stringify([pos.node, pos.scan, pos.carried])));
}

export function decodeListCursor(cursor: unknown): ScanPosition {
  const pos = tryDecode(cursor);
  if (pos === undefined) throw new InvalidInputError('cursor is not one this store issued');
  return pos;
}

function tryDecode(cursor: unknown): ScanPosition | undefined {
  if (typeof cursor !== 'string' || !cursor.startsWith(PREFIX) || cursor.length > MAX_CURSOR_LENGTH) return undefined;
  const bytes = base64urlDecode(cursor.slice(PREFIX.length));
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
  // SCAN cursors are unsigned 64-bit integers in decimal.
  if (typeof scan !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(scan)) return undefined;
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
