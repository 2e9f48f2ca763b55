/**
 * Key administration: what walks a whole sealed store rather than one session. Re-keying, counting
 * the sessions still sealed under each key, the check that keeps an `encrypt` key from being
 * retired while sessions need it, and the encryption counters (each key's nonce budget).
 *
 * These are functions over a `SealedRecords` (the store below the sealing layer, whose values are
 * envelopes, and the sealer that made them), so the session store and the MCP event log share one
 * implementation.
 */
import { BackendUnavailableError, KeyStateError, isSessionStoreError } from '../contract/errors.js';
import type { KeyedQueue } from '../contract/queue.js';
import type { RecordStore, StoredRecord } from '../contract/store.js';
import { normalizeLimit } from '../contract/validate.js';
import type { RetireOptions } from '../keys/keyring.js';
import { parseEnvelope } from '../layers/envelope.js';
import type { EnvelopeSealer, KeyCounter, Opened, Sealer } from '../layers/sealer.js';
import { intOption } from '../util/options.js';
import { isNamespaceRecordId } from './namespace-ids.js';

/** The store below a sealing layer (its values are envelopes) and the sealer that made them. */
export interface SealedRecords {
  readonly inner: RecordStore;
  readonly sealer: EnvelopeSealer;
  readonly now: () => number;
  /** The sealing layer's per-id queue, so a re-seal waits for this process's own updates of that id. */
  readonly queue?: KeyedQueue;
  /** Compare-and-swap attempts per session before it counts as failed; default 8. */
  readonly maxAttempts?: number;
}

export interface RekeyProgress {
  scanned: number;
  resealed: number;
  current: number;
  failed: number;
  /** Listed, but gone or expired by the time it was read (nothing to do). */
  skipped: number;
}

export interface RekeyOptions {
  /** Ids listed per page; default 100 (at most 1000). */
  batchSize?: number;
  /** Sessions re-sealed at once; default 16 (1..64). bench/ measures the effect per backend. */
  concurrency?: number;
  /** Stops between sessions; the result's cursor resumes the walk. */
  signal?: AbortSignal;
  onProgress?: (progress: RekeyProgress & { cursor?: string }) => void;
  /** The `cursor` of an interrupted run, to resume it. */
  cursor?: string;
  /**
   * Called once per record that could not be re-sealed, with the error's code (`unknown_key`,
   * `integrity`, ...; `conflict` after the last attempt). Never given the record's id.
   */
  onFailed?: (code: string) => void;
}

export interface RekeyResult extends RekeyProgress {
  /** True when every listed session was visited. */
  done: boolean;
  /** When not done: pass back as `cursor` to resume (absent: start over from the beginning). */
  cursor?: string;
}

/**
 * Re-seals every active session under the primary key (and configured algorithm), keeping each
 * session's expiry: a re-key is not activity. Resumable from `cursor`; each write is a CAS, so
 * a session updated meanwhile is simply read again (never overwritten with older data).
 */
export async function rekey(target: SealedRecords, options: RekeyOptions = {}): Promise<RekeyResult> {
  const limit = normalizeLimit(options.batchSize);
  const concurrency = intOption(options.concurrency, 16, 1, 64, 'concurrency');
  const totals: RekeyProgress = { scanned: 0, resealed: 0, current: 0, failed: 0, skipped: 0 };
  const one = (id: string) => resealOne(target, id, options.onFailed);
  const reseal = (id: string) => (target.queue === undefined ? one(id) : target.queue.run(id, () => one(id)));
  let cursor = options.cursor;
  for (;;) {
    if (options.signal?.aborted === true) return { ...totals, done: false, ...(cursor === undefined ? {} : { cursor }) };
    const listed = await target.inner.listActive(cursor === undefined ? { limit } : { limit, cursor });
    // The namespace registry's records share SQL tables with sessions; they are not sealed.
    const page = { ids: listed.ids.filter((id) => !isNamespaceRecordId(id)), cursor: listed.cursor };
    let next = 0;
    let aborted = false;
    const worker = async (): Promise<void> => {
      while (next < page.ids.length) {
        if (options.signal?.aborted === true) {
          aborted = true;
          return;
        }
        const id = page.ids[next++]!;
        const outcome = await reseal(id);
        totals.scanned++;
        totals[outcome]++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, page.ids.length) }, worker));
    // An interrupted page resumes from its own start (re-visiting is harmless: those are current).
    if (aborted) return { ...totals, done: false, ...(cursor === undefined ? {} : { cursor }) };
    options.onProgress?.({ ...totals, ...(page.cursor === undefined ? {} : { cursor: page.cursor }) });
    if (page.cursor === undefined) return { ...totals, done: true };
    cursor = page.cursor;
  }
}

/** Re-seals one session under the primary key unless it already is; a backend outage propagates, any other fault is `failed`. */
export async function resealOne(target: SealedRecords, id: string, onFailed?: (code: string) => void): Promise<'resealed' | 'current' | 'failed' | 'skipped'> {
  const { inner, sealer } = target;
  const failed = (err: unknown, code?: string): 'failed' => {
    try {
      onFailed?.(code ?? (isSessionStoreError(err) ? err.code : 'internal'));
    } catch {
      // A reporting hook must not stop the walk.
    }
    return 'failed';
  };
  const attempts = target.maxAttempts ?? 8;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let rec: StoredRecord | undefined;
    let opened: Opened;
    try {
      rec = await inner.loadRecord(id);
      if (rec === undefined || rec.expiresAt <= target.now()) return 'skipped';
      opened = sealer.open(id, rec.value);
    } catch (err) {
      if (err instanceof BackendUnavailableError) throw err;
      return failed(err);
    }
    if (opened.current) return 'current';
    try {
      await inner.saveRecord(id, sealer.seal(id, opened.plaintext ?? sealer.serialize(opened.value)), { expiresAt: rec.expiresAt, ifVersion: rec.version });
      return 'resealed';
    } catch (err) {
      if (!isSessionStoreError(err, 'conflict')) {
        if (err instanceof BackendUnavailableError) throw err;
        return failed(err);
      }
    }
  }
  return failed(undefined, 'conflict');
}

/**
 * Active sessions per kid of the envelope that holds them (`plaintext` for unsealed records,
 * `invalid` for records whose framing does not parse). Reads every active record: an admin
 * operation, not a hot path. The counts come from unauthenticated headers, which is fine for
 * deciding whether a key is still needed (a forged header can only over-count).
 */
export async function keyUsage(target: SealedRecords, options: { batchSize?: number } = {}): Promise<Record<string, number>> {
  const limit = normalizeLimit(options.batchSize);
  const counts: Record<string, number> = Object.create(null) as Record<string, number>;
  const bump = (k: string) => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  const now = target.now();
  let cursor: string | undefined;
  do {
    const page = await target.inner.listActive(cursor === undefined ? { limit } : { limit, cursor });
    const recs = await Promise.all(page.ids.filter((id) => !isNamespaceRecordId(id)).map((id) => target.inner.loadRecord(id)));
    for (const rec of recs) {
      if (rec === undefined || rec.expiresAt <= now) continue;
      if (!(rec.value instanceof Uint8Array)) {
        bump('plaintext');
        continue;
      }
      try {
        bump(parseEnvelope(rec.value, target.sealer.maxEnvelopeBytes).kid);
      } catch {
        bump('invalid');
      }
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return { ...counts };
}

/**
 * Retires a key. For an `encrypt` key, first counts the active sessions still sealed under it and
 * refuses (`key_state`) while there are any, unless forced: those sessions would become
 * unreadable. Other purposes follow the keyring's own rules. A source-backed keyring is changed
 * through its transaction (locked and saved).
 */
export async function retireKey(target: SealedRecords, kid: string, options: RetireOptions = {}): Promise<void> {
  const keyring = target.sealer.keyring;
  const info = keyring.get(kid);
  if (info?.purpose === 'encrypt' && info.status !== 'retired' && options.force !== true) {
    const n = (await keyUsage(target))[kid] ?? 0;
    if (n > 0) throw new KeyStateError(`${n} active session(s) are still sealed under key ${kid}; run rekey() first, or pass { force: true } to make them unreadable`);
  }
  if (keyring.persistent) await keyring.transaction((ring) => ring.retire(kid, options));
  else keyring.retire(kid, options);
}

/**
 * Encryptions per kid under the keys these sealers sealed under, in this process. Each spent one
 * random nonce from that key's budget (see SECURITY.md, "Nonce budget"); a key shared by several
 * sealers is counted once. Add up the fleet's counts.
 */
export function encryptionCounts(sealers: Iterable<Sealer>): Record<string, number> {
  const keys = new Map<KeyCounter, string>();
  for (const sealer of sealers) for (const [counter, kid] of sealer.counters()) keys.set(counter, kid);
  // A null prototype while summing: a kid may be spelled `__proto__`.
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [counter, kid] of keys) out[kid] = (out[kid] ?? 0) + counter.encryptions;
  return { ...out };
}
