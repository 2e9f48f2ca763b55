/**
 * EncryptedStore: the layer that seals every session before it reaches a backend.
 *
 * It wraps any store offering the record-level contract and offers the same contract, with plain
 * JSON states, to the layer above: the inner store only ever sees opaque envelopes (bytes, sealed
 * by ./sealer.ts in the format of ./envelope.ts), each bound by its AAD to this namespace, its
 * session id, its key id and its algorithm. `update` / `updateTtl` run the inherited
 * compare-and-swap loop over the inner store's versions and re-seal with a fresh nonce on every
 * write. Loads that find an older key re-seal under the primary (best-effort, through CAS);
 * `rekey()` does it for every session at once (src/admin/keys.ts).
 */
import * as admin from '../admin/keys.js';
import type { RekeyOptions, RekeyResult, SealedRecords } from '../admin/keys.js';
import type { VersionedStoreOptions } from '../contract/versioned-store.js';
import { ExpiredError, InvalidInputError, NotFoundError, isSessionStoreError } from '../contract/errors.js';
import type { RecordStore, SaveRecordOptions, SessionState, StoredRecord } from '../contract/store.js';
import { isRecordStore } from '../contract/store.js';
import { assertSessionId } from '../contract/validate.js';
import type { AeadAlgorithm, AeadEngineName } from '../crypto/aead/index.js';
import type { RandomSource } from '../util/random.js';
import type { Keyring, RetireOptions } from '../keys/keyring.js';
import { redactedView } from '../keys/redact.js';
import { LayerStore } from './layer-store.js';
import { EnvelopeSealer, type Opened } from './sealer.js';

export { DEFAULT_MAX_PLAINTEXT_BYTES } from './sealer.js';
export type { RekeyOptions, RekeyProgress, RekeyResult } from '../admin/keys.js';

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

export class EncryptedStore extends LayerStore {
  /** Seals and opens this layer's envelopes; key administration (src/admin/keys.ts) works through it. */
  readonly sealer: EnvelopeSealer;
  private readonly lazyReencrypt: boolean;

  constructor(inner: RecordStore, options: EncryptedStoreOptions) {
    super(inner, options);
    if (inner === null || typeof inner !== 'object' || !isRecordStore(inner)) throw new InvalidInputError('EncryptedStore wraps a store offering the record-level contract (loadRecord / saveRecord / deleteRecord)');
    if (options?.keyring === undefined) throw new InvalidInputError('EncryptedStore needs a keyring');
    this.sealer = new EnvelopeSealer(options);
    this.lazyReencrypt = options.lazyReencrypt ?? true;
  }

  get keyring(): Keyring {
    return this.sealer.keyring;
  }

  get namespace(): string {
    return this.sealer.namespace;
  }

  get algorithm(): AeadAlgorithm {
    return this.sealer.algorithm;
  }

  get maxPlaintextBytes(): number {
    return this.sealer.maxPlaintextBytes;
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
      return this.inner.saveRecord(id, this.sealer.seal(id, this.sealer.serialize(value)), options);
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

  // ---------------------------------------------------------------- keys (src/admin/keys.ts)

  /** Re-seals every active session under the primary key; see `rekey` in src/admin/keys.ts. */
  rekey(options: RekeyOptions = {}): Promise<RekeyResult> {
    return this.admin((target) => admin.rekey(target, options));
  }

  /** Active sessions per envelope kid (`plaintext`, `invalid` for the rest); see src/admin/keys.ts. */
  keyUsage(options: { batchSize?: number } = {}): Promise<Record<string, number>> {
    return this.admin((target) => admin.keyUsage(target, options));
  }

  /** Retires a key; an `encrypt` key still sealing active sessions is refused (`key_state`) unless forced. */
  retireKey(kid: string, options: RetireOptions = {}): Promise<void> {
    return this.admin((target) => admin.retireKey(target, kid, options));
  }

  /** Encryptions per kid in this process under the keys this store sealed with (their nonce budget, SECURITY.md "Nonce budget"). */
  encryptionCounts(): Record<string, number> {
    return admin.encryptionCounts([this.sealer]);
  }

  private admin<T>(run: (target: SealedRecords) => Promise<T>): Promise<T> {
    try {
      this.assertOpen();
      const maxAttempts = this.casOptions.maxAttempts;
      return run({ inner: this.inner, sealer: this.sealer, now: this.now, queue: this.queue, ...(maxAttempts === undefined ? {} : { maxAttempts }) });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // ---------------------------------------------------------------- lazy re-seal

  /** Opens a record; synchronous unless it re-seals an envelope under an older key (lazy re-encryption). */
  private openRecord(id: string, rec: StoredRecord, retried = false): StoredRecord<SessionState> | Promise<StoredRecord<SessionState>> {
    let opened: Opened;
    try {
      opened = this.sealer.open(id, rec.value);
    } catch (err) {
      // A kid this process does not hold may be a rotation made elsewhere that its next poll has
      // not brought yet: the keyring reloads once (rate-limited against forged kids), then retry.
      const kid = retried || !isSessionStoreError(err, 'unknown_key') ? undefined : this.sealer.kidOf(rec.value);
      if (kid === undefined) throw err;
      return this.keyring.catchUp(kid).then((known) => {
        if (!known) throw err;
        return this.openRecord(id, rec, true);
      });
    }
    if (!opened.current && this.lazyReencrypt && rec.expiresAt > this.now()) return this.reseal(id, rec, opened);
    return { value: opened.value, version: rec.version, expiresAt: rec.expiresAt };
  }

  private async reseal(id: string, rec: StoredRecord, opened: Opened): Promise<StoredRecord<SessionState>> {
    try {
      // Best-effort, through CAS: a concurrent write wins, a read-only backend refuses; either
      // way the load still succeeds with what it read.
      const version = await this.inner.saveRecord(id, this.sealer.seal(id, opened.plaintext ?? this.sealer.serialize(opened.value)), {
        expiresAt: rec.expiresAt,
        ifVersion: rec.version,
      });
      return { value: opened.value, version, expiresAt: rec.expiresAt };
    } catch {
      return { value: opened.value, version: rec.version, expiresAt: rec.expiresAt };
    }
  }
}

// Logged or serialized, the layer shows its namespace, algorithm and primary kid: never key bytes.
redactedView(EncryptedStore, (store) => ({ namespace: store.namespace, algorithm: store.algorithm, primaryKid: store.keyring.keysFor('encrypt')[0]?.kid }));
