/**
 * RedisStore's keyset slot (contract/keyset-slot.ts): one hash at `<prefix>~keyset v1` with the
 * fields k = the keyset text (wrapped by the keyring's key-encryption provider: the server only
 * ever holds ciphertext) and r = its version token.
 *
 * - The space makes the key impossible as `<prefix><id>` (ids are visible ASCII), so no session can
 *   collide with it and the SCAN walks of ./scan.ts (listing, cleanup) skip it.
 * - It has NO TTL (the write clears any): a keyset must never expire. Redis may still evict it
 *   under an `allkeys-*` eviction policy, which is why `keysetWarnings` reads the policy.
 * - Every write is one Lua script comparing the version first (ifAbsent / ifVersion), and accepting
 *   "already at MY new version" so a retry after a lost answer is not a false conflict.
 */
import { ConflictError } from '../../contract/errors.js';
import { type KeysetWriteCondition, type StoredKeysetText, assertKeysetWrite } from '../../contract/keyset-slot.js';
import { newVersion } from '../../contract/version.js';
import type { RandomSource } from '../../util/random.js';
import type { RedisCommands } from './commands.js';
import { type RedisConnection, type Script, script } from './connection.js';

export interface KeysetContext {
  readonly commands: RedisCommands;
  readonly connection: RedisConnection;
  readonly prefix: string;
  readonly random: RandomSource | undefined;
}

/** KEYS[1] = slot; ARGV = new version, ifAbsent ('1'|''), ifVersion (''|token), text. 1 written, 0 conflict. */
const KEYSET_SAVE: Script = script(`
local cur = redis.call('HGET', KEYS[1], 'r')
if cur == ARGV[1] then return 1 end
if ARGV[2] == '1' and cur then return 0 end
if ARGV[3] ~= '' and cur ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'k', ARGV[4], 'r', ARGV[1])
redis.call('PERSIST', KEYS[1])
return 1
`);

export const keysetKey = (prefix: string): string => `${prefix}~keyset v1`;

export async function loadKeysetText(ctx: KeysetContext): Promise<StoredKeysetText | undefined> {
  const key = keysetKey(ctx.prefix);
  const [k, r] = await ctx.connection.run('load keyset', 'read', ctx.commands.readiness, () => ctx.commands.hmgetBuffer(key, ['k', 'r']));
  if (k == null || r == null) return undefined;
  return { text: k.toString('utf8'), version: r.toString('latin1') };
}

export async function saveKeysetText(ctx: KeysetContext, text: string, condition: KeysetWriteCondition): Promise<string> {
  const { ifAbsent, ifVersion } = assertKeysetWrite(text, condition);
  const version = newVersion(ctx.random);
  const key = keysetKey(ctx.prefix);
  const args = [version, ifAbsent ? '1' : '', ifVersion ?? '', text];
  const written = await ctx.connection.run('save keyset', 'idempotent', ctx.commands.readiness, () => ctx.connection.evalScript(ctx.commands, KEYSET_SAVE, [key], args), version);
  if (written !== 1) throw new ConflictError(ifAbsent ? 'a keyset is already stored' : 'the stored keyset changed concurrently');
  return version;
}

export async function deleteKeysetText(ctx: KeysetContext): Promise<boolean> {
  const key = keysetKey(ctx.prefix);
  const n = await ctx.connection.run('delete keyset', 'idempotent', ctx.commands.readiness, () => ctx.commands.del(key));
  return n === 1;
}

/**
 * Whether the server may evict the keyset: under `allkeys-lru` / `allkeys-lfu` / `allkeys-random`
 * any key may go when memory is full, the keyset too (threat: every process then runs on the ring
 * it has, and a new process cannot start). `volatile-*` policies only evict keys with a TTL, which
 * the keyset never has. CONFIG may be disabled or renamed (managed Redis): then say it was not checked.
 */
export async function keysetWarnings(ctx: KeysetContext): Promise<string[]> {
  let policy: string | undefined;
  try {
    // On a Cluster, every master has its own policy; the keyset's master is asked through the first one's (all are configured alike in practice).
    const node = ctx.commands.isCluster ? (await ctx.commands.masters())[0] : undefined;
    const [answer] = await ctx.connection.run('config', 'read', ctx.commands.readiness, () => ctx.commands.pipeline(node, [['CONFIG', 'GET', 'maxmemory-policy']]));
    if (answer === undefined || answer[0] !== null) throw answer?.[0] ?? new Error('no answer');
    const reply = answer[1];
    const value = Array.isArray(reply) ? reply[1] : reply instanceof Map ? reply.get('maxmemory-policy') : (reply as Record<string, unknown> | null)?.['maxmemory-policy'];
    if (typeof value === 'string') policy = value;
    else if (Buffer.isBuffer(value)) policy = value.toString('latin1');
  } catch (err) {
    const why = err instanceof Error ? err.message : 'CONFIG GET failed';
    return [`could not read the Redis eviction policy (${why}): make sure maxmemory-policy is not allkeys-*, or the stored keyset may be evicted`];
  }
  if (policy === undefined) return ['could not read the Redis eviction policy: make sure maxmemory-policy is not allkeys-*, or the stored keyset may be evicted'];
  if (policy.startsWith('allkeys-')) {
    return [`Redis maxmemory-policy is ${policy}: when memory is full the server may evict the stored keyset (${keysetKey(ctx.prefix)}); use noeviction or a volatile-* policy`];
  }
  return [];
}
