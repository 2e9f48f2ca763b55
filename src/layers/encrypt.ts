/**
 * EncryptedStore: the layer that seals every session before it reaches a backend.
 *
 * It wraps any store offering the record-level contract and offers the same contract, with plain
 * JSON states, to the layer above: the inner store only ever sees opaque envelopes (bytes, see
 * ./envelope.ts), each bound by its AAD to this namespace, its session id, its key id and its
 * algorithm. `update` / `updateTtl` run the inherited compare-and-swap loop over the inner store's
 * versions and re-seal with a fresh nonce on every write. Loads that find an older key re-seal
 * under the primary (best-effort, through CAS); `rekey()` does it for every session at once.
 */
import type { VersionedStoreOptions } from '../contract/versioned-store.js';
import {
  BackendUnavailableError,
  ExpiredError,
  IntegrityError,
  InvalidInputError,
  KeyStateError,
  NotFoundError,
  PayloadTooLargeError,
  isSessionStoreError,
} from '../contract/errors.js';
import type { RecordStore, SaveRecordOptions, SessionState, StoredRecord } from '../contract/store.js';
import { isRecordStore } from '../contract/store.js';
import { assertSessionId, normalizeLimit, stateJson, utf8Length } from '../contract/validate.js';
import { AEAD_SPECS, type Aead, type AeadAlgorithm, type AeadEngineName, type AeadSpec, deriveAlgorithmKey, getAead, hasNodeEngine, isAeadAlgorithm } from '../crypto/aead/index.js';
import { type RandomSource, secureRandom } from '../util/random.js';
import type { Keyring, RetireOptions } from '../keys/keyring.js';
import { LayerStore } from './layer-store.js';
import { MAX_ENVELOPE_OVERHEAD, envelopeAad, envelopeHeader, namespaceField, parseEnvelope } from './envelope.js';

/** Default bound on a state's JSON text (UTF-8 bytes) before it is sealed: 1 MiB. */
export const DEFAULT_MAX_PLAINTEXT_BYTES = 1024 * 1024;

export interface EncryptedStoreOptions extends VersionedStoreOptions {
  keyring: Keyring;
  /**
   * Bound into every envelope's AAD: an envelope copied from another namespace (another app,
   * tenant or environment sharing a backend or a key) does not open here. 1..255 UTF-8 bytes.
   */
  namespace: string;
  /** AEAD for new envelopes (any of them opens): default `'aes-256-gcm'`. */
  algorithm?: AeadAlgorithm;
  /** `'auto'` (default) uses node:crypto for AES-256-GCM where present, @noble/ciphers elsewhere. */
  engine?: 'auto' | AeadEngineName;
  /** Re-seal, on load, envelopes under a non-primary key or another algorithm. Default true; turn off for read-only replicas. */
  lazyReencrypt?: boolean;
  /**
   * MIGRATION ONLY. Accept plaintext records (written before encryption was turned on) as they
   * are, and seal them on the next write / lazy re-seal / `rekey()`. While on, anyone who can write
   * to the backend can plant a plaintext session that this store will accept. Default false.
   */
  unsafeAcceptPlaintext?: boolean;
  /** Largest state (JSON text, UTF-8 bytes) sealed; larger is `payload_too_large`. Default 1 MiB. */
  maxPlaintextBytes?: number;
  /** Nonce source; default the pooled platform CSPRNG. Inject only for golden vectors. */
  random?: RandomSource;
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
  /** Sessions re-sealed at once; default 16 (1..64): on Redis, 4 gave about 3.2k sessions/s and 32 about 9k/s in bench/. */
  concurrency?: number;
  /** Stops between sessions; the result's cursor resumes the walk. */
  signal?: AbortSignal;
  onProgress?: (progress: RekeyProgress & { cursor?: string }) => void;
  /** The `cursor` of an interrupted run, to resume it. */
  cursor?: string;
}

export interface RekeyResult extends RekeyProgress {
  /** True when every listed session was visited. */
  done: boolean;
  /** When not done: pass back as `cursor` to resume (absent: start over from the beginning). */
  cursor?: string;
}

/** Encryptions per kid in this process, across every EncryptedStore: each one spent a random nonce. */
const encryptions = new Map<string, number>();

interface SealContext {
  kid: string;
  spec: AeadSpec;
  header: Uint8Array;
  key: Uint8Array;
}

type Opened = { value: SessionState; plaintext: Uint8Array | undefined; current: boolean };

const hasBuffer = typeof (globalThis as { Buffer?: unknown }).Buffer === 'function';
const textDecoder = new TextDecoder();

function decodeUtf8(bytes: Uint8Array): string {
  return hasBuffer ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : textDecoder.decode(bytes);
}

/** A serialized state on its way to being sealed: its JSON text and that text's UTF-8 length. */
interface Plaintext {
  text: string;
  length: number;
}

export class EncryptedStore extends LayerStore {
  readonly keyring: Keyring;
  readonly namespace: string;
  readonly algorithm: AeadAlgorithm;
  readonly maxPlaintextBytes: number;
  private readonly aead: Aead;
  private readonly openers: Record<AeadAlgorithm, Aead>;
  private readonly nsField: Uint8Array;
  private readonly lazyReencrypt: boolean;
  private readonly acceptPlaintext: boolean;
  private readonly random: RandomSource;
  private readonly maxEnvelopeBytes: number;
  private sealContext: SealContext | undefined;
  private readonly unsubscribe: () => void;

  constructor(inner: RecordStore, options: EncryptedStoreOptions) {
    super(inner, options);
    if (inner === null || typeof inner !== 'object' || !isRecordStore(inner)) throw new InvalidInputError('EncryptedStore wraps a store offering the record-level contract (loadRecord / saveRecord / deleteRecord)');
    if (options?.keyring === undefined) throw new InvalidInputError('EncryptedStore needs a keyring');
    const algorithm = options.algorithm ?? 'aes-256-gcm';
    if (!isAeadAlgorithm(algorithm)) throw new InvalidInputError(`algorithm must be one of ${Object.keys(AEAD_SPECS).join(', ')}`);
    const engine = options.engine ?? 'auto';
    if (engine !== 'auto' && engine !== 'node' && engine !== 'noble') throw new InvalidInputError("engine must be 'auto', 'node' or 'noble'");
    if (engine === 'node' && !hasNodeEngine(algorithm)) throw new InvalidInputError(`the node engine does not provide ${algorithm} here`);
    const max = options.maxPlaintextBytes ?? DEFAULT_MAX_PLAINTEXT_BYTES;
    if (!Number.isSafeInteger(max) || max < 2) throw new InvalidInputError('maxPlaintextBytes must be an integer >= 2');
    try {
      this.nsField = namespaceField(options.namespace);
    } catch (err) {
      throw new InvalidInputError((err as Error).message);
    }
    this.keyring = options.keyring;
    this.namespace = options.namespace;
    this.algorithm = algorithm;
    this.maxPlaintextBytes = max;
    this.maxEnvelopeBytes = max + MAX_ENVELOPE_OVERHEAD;
    this.aead = getAead(algorithm, engine);
    const openerEngine = (alg: AeadAlgorithm): 'auto' | AeadEngineName => (engine === 'node' && !hasNodeEngine(alg) ? 'noble' : engine);
    this.openers = {
      'aes-256-gcm': getAead('aes-256-gcm', openerEngine('aes-256-gcm')),
      'aes-256-gcm-siv': getAead('aes-256-gcm-siv', openerEngine('aes-256-gcm-siv')),
      'xchacha20-poly1305': getAead('xchacha20-poly1305', openerEngine('xchacha20-poly1305')),
    };
    this.lazyReencrypt = options.lazyReencrypt ?? true;
    this.acceptPlaintext = options.unsafeAcceptPlaintext === true;
    this.random = options.random ?? secureRandom;
    // Keys may be replaced on reload: drop the cached primary context on every keyring change.
    this.unsubscribe = this.keyring.onChange(() => {
      this.sealContext = undefined;
    });
    this.keyring.primary('encrypt'); // fail fast: a keyring without an encrypt key cannot seal
  }

  // ---------------------------------------------------------------- record level

  // The record-level methods leave the closed check to the inner store, which is closed only after
  // this layer's queued compare-and-swap loops have finished: `close()` lets in-flight updates land.

  async loadRecord(id: string): Promise<StoredRecord<SessionState> | undefined> {
    assertSessionId(id);
    const rec = await this.inner.loadRecord(id);
    return rec === undefined ? undefined : this.openRecord(id, rec);
  }

  // Not `async`: an async function that returns the inner store's promise pays extra microtask
  // turns on every write; a synchronous fault still becomes a rejection.
  saveRecord(id: string, value: SessionState, options: SaveRecordOptions): Promise<string> {
    try {
      assertSessionId(id);
      return this.inner.saveRecord(id, this.seal(id, this.serialize(value)), options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Every state is validated where it is serialized, just before it is sealed: `save` / `update` check only its top level. */
  protected override readonly serializesOnSave = true;

  /** Expiry is checked on the backend's record before decrypting: an expired session stays `expired` even once its key is retired. */
  override async load(id: string): Promise<SessionState> {
    this.assertOpen();
    assertSessionId(id);
    const rec = await this.inner.loadRecord(id);
    if (rec === undefined) throw new NotFoundError();
    if (rec.expiresAt <= this.now()) throw new ExpiredError();
    const opened = this.openRecord(id, rec);
    return (opened instanceof Promise ? await opened : opened).value;
  }

  protected toRecordValue(state: SessionState): SessionState {
    return state;
  }

  protected fromRecordValue(value: SessionState): SessionState {
    return value;
  }

  /** Closes this layer (waiting for queued updates) and then the inner store. */
  protected override async onClose(): Promise<void> {
    this.unsubscribe();
    await super.onClose();
  }

  // ---------------------------------------------------------------- keys

  /**
   * Re-seals every active session under the primary key (and configured algorithm), keeping each
   * session's expiry: a re-key is not activity. Resumable from `cursor`; each write is a CAS, so
   * a session updated meanwhile is simply read again (never overwritten with older data).
   */
  async rekey(options: RekeyOptions = {}): Promise<RekeyResult> {
    this.assertOpen();
    const limit = normalizeLimit(options.batchSize);
    const concurrency = options.concurrency ?? 16;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new InvalidInputError('concurrency must be an integer in 1..64');
    const totals: RekeyProgress = { scanned: 0, resealed: 0, current: 0, failed: 0, skipped: 0 };
    let cursor = options.cursor;
    for (;;) {
      if (options.signal?.aborted === true) return { ...totals, done: false, ...(cursor === undefined ? {} : { cursor }) };
      const page = await this.inner.listActive(cursor === undefined ? { limit } : { limit, cursor });
      let next = 0;
      let aborted = false;
      const worker = async (): Promise<void> => {
        while (next < page.ids.length) {
          if (options.signal?.aborted === true) {
            aborted = true;
            return;
          }
          const id = page.ids[next++]!;
          const outcome = await this.queue.run(id, () => this.resealOne(id));
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

  /**
   * Active sessions per kid of the envelope that holds them (`plaintext` for unsealed records,
   * `invalid` for records whose framing does not parse). Reads every active record: an admin
   * operation, not a hot path. The counts come from unauthenticated headers, which is fine for
   * deciding whether a key is still needed (a forged header can only over-count).
   */
  async keyUsage(options: { batchSize?: number } = {}): Promise<Record<string, number>> {
    this.assertOpen();
    const limit = normalizeLimit(options.batchSize);
    const counts: Record<string, number> = Object.create(null) as Record<string, number>;
    const bump = (k: string) => {
      counts[k] = (counts[k] ?? 0) + 1;
    };
    const now = this.now();
    let cursor: string | undefined;
    do {
      const page = await this.inner.listActive(cursor === undefined ? { limit } : { limit, cursor });
      const recs = await Promise.all(page.ids.map((id) => this.inner.loadRecord(id)));
      for (const rec of recs) {
        if (rec === undefined || rec.expiresAt <= now) continue;
        if (!(rec.value instanceof Uint8Array)) {
          bump('plaintext');
          continue;
        }
        try {
          bump(parseEnvelope(rec.value, this.maxEnvelopeBytes).kid);
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
  async retireKey(kid: string, options: RetireOptions = {}): Promise<void> {
    this.assertOpen();
    const info = this.keyring.get(kid);
    if (info?.purpose === 'encrypt' && info.status !== 'retired' && options.force !== true) {
      const n = (await this.keyUsage())[kid] ?? 0;
      if (n > 0) throw new KeyStateError(`${n} active session(s) are still sealed under key ${kid}; run rekey() first, or pass { force: true } to make them unreadable`);
    }
    if (this.keyring.persistent) await this.keyring.transaction((ring) => ring.retire(kid, options));
    else this.keyring.retire(kid, options);
  }

  /**
   * Encryptions per kid performed in this process (by every EncryptedStore). Each spent one random
   * nonce from that key's budget (see SECURITY.md, "Nonce budget"); add up the fleet's counts.
   */
  encryptionCounts(): Record<string, number> {
    return Object.fromEntries(encryptions);
  }

  // ---------------------------------------------------------------- sealing

  /** The state's JSON text and its UTF-8 length, validated (`invalid_input`) and bounded (`payload_too_large`). */
  private serialize(value: SessionState): Plaintext {
    const json = stateJson(value);
    // UTF-8 never takes fewer bytes than UTF-16 code units, so this refuses before measuring.
    if (json.length > this.maxPlaintextBytes) throw new PayloadTooLargeError(json.length, this.maxPlaintextBytes, 'state');
    const length = utf8Length(json);
    if (length > this.maxPlaintextBytes) throw new PayloadTooLargeError(length, this.maxPlaintextBytes, 'state');
    return { text: json, length };
  }

  private context(): SealContext {
    const primary = this.keyring.primary('encrypt');
    let ctx = this.sealContext;
    if (ctx === undefined || ctx.kid !== primary.kid) {
      const spec = AEAD_SPECS[this.algorithm];
      ctx = { kid: primary.kid, spec, header: envelopeHeader(spec, primary.kid), key: deriveAlgorithmKey(primary.key, this.algorithm) };
      this.sealContext = ctx;
    }
    return ctx;
  }

  /** An envelope of `plaintext` (a serialized state, or the bytes of one just opened) for `id`. */
  private seal(id: string, plaintext: Plaintext | Uint8Array): Uint8Array {
    const body = plaintext instanceof Uint8Array ? plaintext : plaintext.text;
    const length = plaintext.length;
    const ctx = this.context();
    const spec = this.aead.spec;
    const nonce = this.random(spec.nonceLength);
    // A short or reused nonce breaks GCM outright; a broken injected random source must fail loudly.
    if (nonce.length !== spec.nonceLength) throw new RangeError(`random source returned ${nonce.length} bytes, expected ${spec.nonceLength}`);
    const h = ctx.header.length;
    const out = new Uint8Array(h + spec.nonceLength + length + spec.tagLength);
    out.set(ctx.header, 0);
    out.set(nonce, h);
    const written = this.aead.seal(ctx.key, nonce, body, envelopeAad(ctx.header, this.nsField, id), out, h + spec.nonceLength);
    // The envelope was sized from the UTF-8 length: an engine that wrote otherwise must not leave zeros.
    if (written !== length + spec.tagLength) throw new RangeError(`AEAD wrote ${written} bytes, expected ${length + spec.tagLength}`);
    encryptions.set(ctx.kid, (encryptions.get(ctx.kid) ?? 0) + 1);
    return out;
  }

  /**
   * Opens a record's value. Every fault of the envelope or its contents - framing, tag, AAD,
   * JSON - is the same `IntegrityError`, so the error is no oracle (which byte was wrong, whether
   * the key was right). An unusable kid is `unknown_key`.
   */
  private open(id: string, value: unknown): Opened {
    if (!(value instanceof Uint8Array)) {
      // A plaintext record where an envelope belongs: accepted only in the named migration mode,
      // otherwise anyone with write access to the backend could plant an unsealed session.
      if (this.acceptPlaintext && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        return { value: value as SessionState, plaintext: undefined, current: false };
      }
      throw new IntegrityError();
    }
    const ctx = this.context();
    const parts = parseEnvelope(value, this.maxEnvelopeBytes, ctx);
    const key = parts.kid === ctx.kid && parts.spec === ctx.spec ? ctx.key : deriveAlgorithmKey(this.keyring.keyFor('encrypt', parts.kid), parts.spec.name);
    const plaintext = this.openers[parts.spec.name].open(key, parts.nonce, parts.sealed, envelopeAad(parts.header, this.nsField, id));
    if (plaintext === undefined) throw new IntegrityError();
    let state: unknown;
    try {
      // JSON.parse defines keys as own data properties: a "__proto__" key stays a plain key and
      // never reaches a prototype (prototype pollution), and later spreads copy it the same way.
      state = JSON.parse(decodeUtf8(plaintext));
    } catch {
      throw new IntegrityError();
    }
    if (state === null || typeof state !== 'object' || Array.isArray(state)) throw new IntegrityError();
    const current = parts.spec === ctx.spec && parts.kid === ctx.kid;
    return { value: state as SessionState, plaintext, current };
  }

  /** Opens a record; synchronous unless it re-seals an envelope under an older key (lazy re-encryption). */
  private openRecord(id: string, rec: StoredRecord): StoredRecord<SessionState> | Promise<StoredRecord<SessionState>> {
    const opened = this.open(id, rec.value);
    if (!opened.current && this.lazyReencrypt && rec.expiresAt > this.now()) return this.reseal(id, rec, opened);
    return { value: opened.value, version: rec.version, expiresAt: rec.expiresAt };
  }

  private async reseal(id: string, rec: StoredRecord, opened: Opened): Promise<StoredRecord<SessionState>> {
    try {
      // Best-effort, through CAS: a concurrent write wins, a read-only backend refuses; either
      // way the load still succeeds with what it read.
      const version = await this.inner.saveRecord(id, this.seal(id, opened.plaintext ?? this.serialize(opened.value)), {
        expiresAt: rec.expiresAt,
        ifVersion: rec.version,
      });
      return { value: opened.value, version, expiresAt: rec.expiresAt };
    } catch {
      return { value: opened.value, version: rec.version, expiresAt: rec.expiresAt };
    }
  }

  private async resealOne(id: string): Promise<'resealed' | 'current' | 'failed' | 'skipped'> {
    const attempts = this.casOptions.maxAttempts ?? 8;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let rec: StoredRecord | undefined;
      let opened: Opened;
      try {
        rec = await this.inner.loadRecord(id);
        if (rec === undefined || rec.expiresAt <= this.now()) return 'skipped';
        opened = this.open(id, rec.value);
      } catch (err) {
        if (err instanceof BackendUnavailableError) throw err;
        return 'failed';
      }
      if (opened.current) return 'current';
      try {
        await this.inner.saveRecord(id, this.seal(id, opened.plaintext ?? this.serialize(opened.value)), { expiresAt: rec.expiresAt, ifVersion: rec.version });
        return 'resealed';
      } catch (err) {
        if (!isSessionStoreError(err, 'conflict')) {
          if (err instanceof BackendUnavailableError) throw err;
          return 'failed';
        }
      }
    }
    return 'failed';
  }
}
