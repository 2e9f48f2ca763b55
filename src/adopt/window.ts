/**
 * The adoption window: which plaintext sessions of the old store may still be taken over.
 *
 * Threat: anyone who can write to Redis can write `sess:<id>` = `{"cookie":…,"user":"admin"}` and
 * then present cookie `<id>`. A store that accepts plaintext at all would accept that planted
 * login. So plaintext is a window, not a mode:
 *   - **a snapshot of the ids present when the migration started**: the first use takes it (SCAN of
 *     `<legacyPrefix>*`) and stores, per id, a keyed hash (HMAC under the keyring's `hash` key) in
 *     the set `<manifest>ids`. Someone without that key cannot add an id of their choosing: a key
 *     created after the snapshot is refused, whatever it holds;
 *   - **the window's state** (`open` / `closed`, its start, the operator's deadline) in the hash
 *     `<manifest>state`, with an HMAC tag over all of it: a forged or edited state is closed;
 *   - **deadlines**: after the operator's deadline (the application's `until`, and the CLI's
 *     `--deadline`), nothing plaintext is accepted, whatever Redis says;
 *   - the bulk pass **closes** the window (state `closed`, the id set deleted), and a process that
 *     saw it closed never opens it again.
 * What remains (SECURITY.md, "Adopting connect-redis sessions"): while the window is open, someone
 * who can write Redis can still rewrite a session that was in the snapshot (as they always could
 * under connect-redis), and someone who deletes both manifest keys before the deadline makes the
 * next process take a new snapshot. Setting `until` bounds both.
 */
import { ADOPT_LABEL, BackendUnavailableError, InvalidInputError, type SecureStore, base64urlEncode, hmacSha256, labelled, sleep, utf8Encode } from '../internal.js';
import type { LegacyRedis } from './redis-legacy.js';

/** One SCAN step's COUNT hint and one SADD's size. */
const BATCH = 500;
/** How long a snapshot may take before another process may take it over (ms). */
const SNAPSHOT_LOCK_MS = 120_000;
/** How long a process waits for another one's snapshot before it gives up (ms, real time: this waits on another process, not on a TTL). */
const SNAPSHOT_WAIT_MS = 30_000;

/** `{ state hash, is member }` in one round trip (standalone Redis: both keys on one server). */
const READ_WINDOW = `return {redis.call('HGETALL', KEYS[1]), redis.call('SISMEMBER', KEYS[2], ARGV[1])}`;
const LOCK = `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end return 0`;
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const ADD_IDS = `return redis.call('SADD', KEYS[1], unpack(ARGV))`;
/** Writes the state unless a state exists already (a concurrent snapshot finished first). */
const WRITE_STATE = `if ARGV[1] == 'open' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'started', ARGV[2], 'deadline', ARGV[3], 'kid', ARGV[4], 'tag', ARGV[5])
if ARGV[1] == 'closed' then redis.call('DEL', KEYS[2]) end
return 1`;

export interface WindowOptions {
  legacyPrefix: string;
  /** Where the window's keys live; must not match `<legacyPrefix>*`. */
  manifestPrefix: string;
  /** The operator's deadline (epoch ms) from the application's configuration, if any. */
  until: number | undefined;
}

export type WindowCheck = { open: true } | { open: false; reason: 'closed' | 'deadline' | 'not_in_snapshot' | 'tampered' };

interface State {
  state: 'open' | 'closed';
  started: number;
  deadline: number | undefined;
  kid: string;
}

export class AdoptionWindow {
  private readonly stateKey: string;
  private readonly idsKey: string;
  private readonly lockKey: string;
  /** Set once this process saw the window closed: it never opens again here. */
  private closedHere = false;

  constructor(
    private readonly redis: LegacyRedis,
    private readonly store: SecureStore,
    private readonly options: WindowOptions,
  ) {
    if (options.manifestPrefix.startsWith(options.legacyPrefix)) {
      throw new InvalidInputError(`manifestPrefix "${options.manifestPrefix}" starts with the legacy prefix "${options.legacyPrefix}": the window's keys would be walked as sessions`);
    }
    this.stateKey = `${options.manifestPrefix}state`;
    this.idsKey = `${options.manifestPrefix}ids`;
    this.lockKey = `${options.manifestPrefix}lock`;
  }

  /** True once this process has seen the window closed (it never opens again here). */
  get closed(): boolean {
    return this.closedHere;
  }

  /** Whether the plaintext session `id` may be adopted now; takes the snapshot on first use. */
  async check(id: string, now: number): Promise<WindowCheck> {
    if (this.closedHere) return { open: false, reason: 'closed' };
    if (this.options.until !== undefined && now >= this.options.until) return { open: false, reason: 'deadline' };
    let read = await this.read(id);
    if (read.state === undefined) {
      await this.snapshot(now);
      read = await this.read(id);
    }
    const { state, member } = read;
    if (state === undefined) return { open: false, reason: 'closed' };
    if (state === 'tampered') return { open: false, reason: 'tampered' };
    if (state.state === 'closed') {
      this.closedHere = true;
      return { open: false, reason: 'closed' };
    }
    if (state.deadline !== undefined && now >= state.deadline) return { open: false, reason: 'deadline' };
    return member ? { open: true } : { open: false, reason: 'not_in_snapshot' };
  }

  /** Takes the snapshot if nobody has (the bulk pass calls this first); resolves the window's start. */
  async ensureOpen(now: number, deadline?: number): Promise<{ state: 'open' | 'closed'; started: number }> {
    let read = await this.read('');
    if (read.state === undefined) {
      await this.snapshot(now, deadline);
      read = await this.read('');
    }
    if (read.state === undefined || read.state === 'tampered') throw new InvalidInputError(`the adoption window's state at ${this.stateKey} does not carry a valid tag (written by someone without the hash key?): delete it to take a new snapshot`);
    return { state: read.state.state, started: read.state.started };
  }

  /** Closes the window for good (the bulk pass, when it has walked every legacy key). */
  async close(now: number): Promise<void> {
    const kid = this.store.keyring.primary('hash').kid;
    const fields = { state: 'closed' as const, started: now, deadline: undefined, kid };
    await this.redis.eval(WRITE_STATE, [this.stateKey, this.idsKey], ['closed', String(now), '', kid, this.tag(fields)]);
    this.closedHere = true;
  }

  /** The keyed hash of a legacy id under key `kid` (what the snapshot stores). */
  private idHash(id: string, kid: string): string {
    const key = this.store.keyring.keyFor('hash', kid);
    return base64urlEncode(hmacSha256(key, utf8Encode(labelled(ADOPT_LABEL, `id\n${this.options.legacyPrefix}\n${id}`))).subarray(0, 16));
  }

  private tag(s: State): string {
    const key = this.store.keyring.keyFor('hash', s.kid);
    const text = `window\n${this.options.legacyPrefix}\n${s.state}\n${s.started}\n${s.deadline ?? ''}`;
    return base64urlEncode(hmacSha256(key, utf8Encode(labelled(ADOPT_LABEL, text))));
  }

  private async read(id: string): Promise<{ state: State | 'tampered' | undefined; member: boolean }> {
    // The id is hashed under the snapshot's key, known only after reading the state: hash under the
    // primary first (the common case), and again under the snapshot's kid when it differs.
    const primaryKid = this.store.keyring.primary('hash').kid;
    const reply = (await this.redis.eval(READ_WINDOW, [this.stateKey, this.idsKey], [this.idHash(id, primaryKid)])) as [string[], number];
    const state = this.parse(reply[0]);
    let member = Number(reply[1]) === 1;
    if (state !== undefined && state !== 'tampered' && state.kid !== primaryKid && id !== '') {
      const again = (await this.redis.eval(READ_WINDOW, [this.stateKey, this.idsKey], [this.idHash(id, state.kid)])) as [string[], number];
      member = Number(again[1]) === 1;
    }
    return { state, member };
  }

  private parse(flat: string[]): State | 'tampered' | undefined {
    if (!Array.isArray(flat) || flat.length === 0) return undefined;
    const f: Record<string, string> = Object.create(null) as Record<string, string>;
    for (let i = 0; i + 1 < flat.length; i += 2) f[String(flat[i])] = String(flat[i + 1]);
    const started = Number(f.started);
    const deadline = f.deadline === '' || f.deadline === undefined ? undefined : Number(f.deadline);
    if ((f.state !== 'open' && f.state !== 'closed') || !Number.isFinite(started) || (deadline !== undefined && !Number.isFinite(deadline)) || f.kid === undefined || f.tag === undefined) {
      return 'tampered';
    }
    const state: State = { state: f.state, started, deadline, kid: f.kid };
    let expected: string;
    try {
      expected = this.tag(state);
    } catch {
      return 'tampered'; // a kid this keyring does not hold
    }
    return expected === f.tag ? state : 'tampered';
  }

  /**
   * Records the keyed hash of every legacy id present now, then writes the tagged `open` state. One
   * process does it (a lock with a bounded lease); the others wait for the state to appear.
   */
  private async snapshot(now: number, deadline?: number): Promise<void> {
    const token = base64urlEncode(crypto.getRandomValues(new Uint8Array(12)));
    const locked = Number(await this.redis.eval(LOCK, [this.lockKey], [token, SNAPSHOT_LOCK_MS])) === 1;
    if (!locked) {
      const waitUntil = Date.now() + SNAPSHOT_WAIT_MS;
      while (Date.now() < waitUntil) {
        await sleep(100);
        if ((await this.read('')).state !== undefined) return;
      }
      throw new BackendUnavailableError('another process is taking the adoption snapshot and has not finished: try again shortly');
    }
    try {
      const kid = this.store.keyring.primary('hash').kid;
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, `${globEscape(this.options.legacyPrefix)}*`, BATCH);
        const hashes = keys.map((k) => this.idHash(k.slice(this.options.legacyPrefix.length), kid));
        if (hashes.length > 0) await this.redis.eval(ADD_IDS, [this.idsKey], hashes);
        cursor = next;
      } while (cursor !== '0');
      const state: State = { state: 'open', started: now, deadline, kid };
      await this.redis.eval(WRITE_STATE, [this.stateKey, this.idsKey], ['open', String(now), deadline === undefined ? '' : String(deadline), kid, this.tag(state)]);
    } finally {
      await this.redis.eval(UNLOCK, [this.lockKey], [token]).catch(() => undefined);
    }
  }
}

/** A prefix as a literal inside a SCAN MATCH pattern. */
export function globEscape(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
