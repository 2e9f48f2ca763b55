/**
 * The sealer: one place that turns plaintext into sealed bytes and back for every sealed format.
 *
 * `Sealer` picks the key (the keyring's primary `encrypt` key to seal, any usable kid to open),
 * derives the AEAD key from it (the envelope's per-algorithm subkey, or a purpose subkey for other
 * formats), picks the engine, draws the nonce and counts the encryption against that derived key's
 * nonce budget. `EnvelopeSealer` adds the session envelope (./envelope.ts): its header, its AAD
 * bound to namespace and session id, the size bound and the state's JSON text. The MCP
 * request-state handles seal through a plain `Sealer` with their own purpose key and AAD.
 */
import { IntegrityError, InvalidInputError, PayloadTooLargeError } from '../contract/errors.js';
import type { SessionState } from '../contract/store.js';
import { stateJson, utf8Length } from '../contract/validate.js';
import { AEAD_SPECS, type Aead, type AeadAlgorithm, type AeadEngineName, type AeadSpec, deriveAlgorithmKey, deriveSubkey, getAead, hasNodeEngine, isAeadAlgorithm } from '../crypto/aead/index.js';
import { hmacSha256 } from '../crypto/hmac.js';
import { KEY_COUNTER_LABEL } from '../crypto/labels.js';
import type { Keyring, UsableKey } from '../keys/keyring.js';
import { redactedView } from '../keys/redact.js';
import { base64urlEncode } from '../util/bytes.js';
import { isSealed } from './sealed.js';
import { type RandomSource, secureRandom } from '../util/random.js';
import { MAX_ENVELOPE_OVERHEAD, envelopeAad, envelopeHeader, namespaceField, parseEnvelope } from './envelope.js';

/** Default bound on a state's JSON text (UTF-8 bytes) before it is sealed: 1 MiB. */
export const DEFAULT_MAX_PLAINTEXT_BYTES = 1024 * 1024;

/** Encryptions under one derived key in this process: each spent one random nonce of its budget. */
export interface KeyCounter {
  encryptions: number;
}

// Counted per derived key, not per sealer: two stores sealing under one key share its budget (see
// SECURITY.md, "Nonce budget"). Keys are named by an HMAC under the key itself, so the same key
// loaded twice (two keyrings, a reload) is one counter, and no key bytes become a map key.
const countersById = new Map<string, KeyCounter>();
const countersByKey = new WeakMap<Uint8Array, KeyCounter>();

function counterFor(key: Uint8Array): KeyCounter {
  let counter = countersByKey.get(key);
  if (counter === undefined) {
    const id = base64urlEncode(hmacSha256(key, KEY_COUNTER_LABEL));
    counter = countersById.get(id) ?? { encryptions: 0 };
    countersById.set(id, counter);
    countersByKey.set(key, counter);
  }
  return counter;
}

export interface SealerOptions {
  keyring: Keyring;
  /** AEAD for new seals (any of them opens): default `'aes-256-gcm'`. */
  algorithm?: AeadAlgorithm;
  /** `'auto'` (default) uses node:crypto for AES-256-GCM where present, @noble/ciphers elsewhere. */
  engine?: 'auto' | AeadEngineName;
  /** Nonce source; default the pooled platform CSPRNG. Inject only for golden vectors. */
  random?: RandomSource;
  /** HKDF info of a purpose key (formats other than the envelope); default the per-algorithm subkey. */
  purpose?: string;
}

/** The primary key, derived for this sealer: cached until the keyring's primary changes. */
export interface KeyContext {
  readonly kid: string;
  readonly spec: AeadSpec;
  readonly key: Uint8Array;
  readonly counter: KeyCounter;
  readonly source: UsableKey;
}

export class Sealer {
  readonly keyring: Keyring;
  readonly algorithm: AeadAlgorithm;
  private readonly aead: Aead;
  private readonly openers: Record<AeadAlgorithm, Aead>;
  private readonly random: RandomSource;
  private readonly purpose: string | undefined;
  // The derived primary key (and the keyring's own) in a private field: nothing that walks this
  // object (inspect, JSON, structuredClone) reaches it (threat: key material in logs).
  #current: KeyContext | undefined;
  /** The derived keys this sealer sealed under, with their kid: what `encryptionCounts` adds up. */
  private readonly used = new Map<KeyCounter, string>();

  constructor(options: SealerOptions) {
    if (options?.keyring === undefined) throw new InvalidInputError('a sealer needs a keyring');
    const algorithm = options.algorithm ?? 'aes-256-gcm';
    if (!isAeadAlgorithm(algorithm)) throw new InvalidInputError(`algorithm must be one of ${Object.keys(AEAD_SPECS).join(', ')}`);
    const engine = options.engine ?? 'auto';
    if (engine !== 'auto' && engine !== 'node' && engine !== 'noble') throw new InvalidInputError("engine must be 'auto', 'node' or 'noble'");
    if (engine === 'node' && !hasNodeEngine(algorithm)) throw new InvalidInputError(`the node engine does not provide ${algorithm} here`);
    this.keyring = options.keyring;
    this.algorithm = algorithm;
    this.aead = getAead(algorithm, engine);
    const openerEngine = (alg: AeadAlgorithm): 'auto' | AeadEngineName => (engine === 'node' && !hasNodeEngine(alg) ? 'noble' : engine);
    this.openers = {
      'aes-256-gcm': getAead('aes-256-gcm', openerEngine('aes-256-gcm')),
      'aes-256-gcm-siv': getAead('aes-256-gcm-siv', openerEngine('aes-256-gcm-siv')),
      'xchacha20-poly1305': getAead('xchacha20-poly1305', openerEngine('xchacha20-poly1305')),
    };
    this.random = options.random ?? secureRandom;
    this.purpose = options.purpose;
    this.keyring.primary('encrypt'); // fail fast: a keyring without an encrypt key cannot seal
  }

  /** The primary `encrypt` key, derived; rebuilt whenever the keyring hands out another primary (rotation, reload). */
  primary(): KeyContext {
    const source = this.keyring.primary('encrypt');
    let ctx = this.#current;
    if (ctx === undefined || ctx.source !== source) {
      const key = this.derive(source.key, this.algorithm);
      ctx = { kid: source.kid, spec: AEAD_SPECS[this.algorithm], key, counter: counterFor(key), source };
      this.used.set(ctx.counter, ctx.kid);
      this.#current = ctx;
    }
    return ctx;
  }

  /** The derived key of `kid` for `spec`; `unknown_key` unless `kid` is a usable `encrypt` key. */
  keyFor(kid: string, spec: AeadSpec): Uint8Array {
    const ctx = this.primary();
    return kid === ctx.kid && spec === ctx.spec ? ctx.key : this.derive(this.keyring.keyFor('encrypt', kid), spec.name);
  }

  /**
   * `prefix || nonce || ciphertext || tag` in one allocation, under the primary context `ctx`.
   * `length` is the plaintext's UTF-8 byte length (a string is sealed as its UTF-8 bytes).
   */
  sealWith(ctx: KeyContext, prefix: Uint8Array, plaintext: Uint8Array | string, length: number, aad: Uint8Array): Uint8Array {
    const spec = this.aead.spec;
    const nonce = this.random(spec.nonceLength);
    // A short or reused nonce breaks GCM outright; a broken injected random source must fail loudly.
    if (nonce.length !== spec.nonceLength) throw new InvalidInputError(`random source returned ${nonce.length} bytes, expected ${spec.nonceLength}`);
    const h = prefix.length;
    const out = new Uint8Array(h + spec.nonceLength + length + spec.tagLength);
    out.set(prefix, 0);
    out.set(nonce, h);
    const written = this.aead.seal(ctx.key, nonce, plaintext, aad, out, h + spec.nonceLength);
    // The output was sized from the UTF-8 length: an engine that wrote otherwise must not leave zeros.
    if (written !== length + spec.tagLength) throw new InvalidInputError(`AEAD wrote ${written} bytes, expected ${length + spec.tagLength}`);
    ctx.counter.encryptions++;
    return out;
  }

  /** The plaintext of `ciphertext || tag`, or undefined on any fault (the caller raises one integrity error). */
  openWith(key: Uint8Array, spec: AeadSpec, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | undefined {
    return this.openers[spec.name].open(key, nonce, sealed, aad);
  }

  /** Encryptions so far under each derived key this sealer has sealed under (shared with every sealer of that key), with its kid. */
  counters(): ReadonlyMap<KeyCounter, string> {
    return this.used;
  }

  private derive(key: Uint8Array, algorithm: AeadAlgorithm): Uint8Array {
    return this.purpose === undefined ? deriveAlgorithmKey(key, algorithm) : deriveSubkey(key, this.purpose);
  }
}

/** A serialized state on its way to being sealed: its JSON text and that text's UTF-8 length. */
export interface Plaintext {
  text: string;
  length: number;
}

export interface Opened {
  value: SessionState;
  /** The bytes just opened (re-sealed as they are), or undefined for an accepted plaintext record. */
  plaintext: Uint8Array | undefined;
  /** Sealed under the primary key with the configured algorithm: nothing to re-seal. */
  current: boolean;
}

export interface EnvelopeSealerOptions extends Omit<SealerOptions, 'purpose'> {
  /** Bound into every envelope's AAD. 1..255 UTF-8 bytes. */
  namespace: string;
  /** Largest state (JSON text, UTF-8 bytes) sealed; larger is `payload_too_large`. Default 1 MiB. */
  maxPlaintextBytes?: number;
  /** MIGRATION ONLY: open a plaintext record (not bytes) as it is. See EncryptedStoreOptions. */
  unsafeAcceptPlaintext?: boolean;
}

interface EnvelopeContext {
  ctx: KeyContext;
  spec: AeadSpec;
  kid: string;
  header: Uint8Array;
}

const hasBuffer = typeof (globalThis as { Buffer?: unknown }).Buffer === 'function';
const textDecoder = new TextDecoder();

function decodeUtf8(bytes: Uint8Array): string {
  return hasBuffer ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : textDecoder.decode(bytes);
}

/** Session states in envelopes (format v1, SECURITY.md "Envelope byte layout"). */
export class EnvelopeSealer extends Sealer {
  readonly namespace: string;
  readonly maxPlaintextBytes: number;
  readonly maxEnvelopeBytes: number;
  readonly acceptPlaintext: boolean;
  private readonly nsField: Uint8Array;
  /** Private (#): holds the primary key context (see `#current`). */
  #envelope: EnvelopeContext | undefined;

  constructor(options: EnvelopeSealerOptions) {
    super(options);
    const max = options.maxPlaintextBytes ?? DEFAULT_MAX_PLAINTEXT_BYTES;
    if (!Number.isSafeInteger(max) || max < 2) throw new InvalidInputError('maxPlaintextBytes must be an integer >= 2');
    this.nsField = namespaceField(options.namespace);
    this.namespace = options.namespace;
    this.maxPlaintextBytes = max;
    this.maxEnvelopeBytes = max + MAX_ENVELOPE_OVERHEAD;
    this.acceptPlaintext = options.unsafeAcceptPlaintext === true;
  }

  /** The state's JSON text and its UTF-8 length, validated (`invalid_input`) and bounded (`payload_too_large`). */
  serialize(value: SessionState): Plaintext {
    const json = sealedStateJson(value);
    // UTF-8 never takes fewer bytes than UTF-16 code units, so this refuses before measuring.
    if (json.length > this.maxPlaintextBytes) throw new PayloadTooLargeError(json.length, this.maxPlaintextBytes, 'state');
    const length = utf8Length(json);
    if (length > this.maxPlaintextBytes) throw new PayloadTooLargeError(length, this.maxPlaintextBytes, 'state');
    return { text: json, length };
  }

  /** An envelope of `plaintext` (a serialized state, or the bytes of one just opened) for `id`. */
  seal(id: string, plaintext: Plaintext | Uint8Array): Uint8Array {
    const env = this.context();
    const body = plaintext instanceof Uint8Array ? plaintext : plaintext.text;
    return this.sealWith(env.ctx, env.header, body, plaintext.length, envelopeAad(env.header, this.nsField, id));
  }

  /**
   * Opens a record's value. Every fault of the envelope or its contents - framing, tag, AAD,
   * JSON - is the same `IntegrityError`, so the error is no oracle (which byte was wrong, whether
   * the key was right). An unusable kid is `unknown_key`.
   */
  open(id: string, value: unknown): Opened {
    if (!(value instanceof Uint8Array)) {
      // A plaintext record where an envelope belongs: accepted only in the named migration mode,
      // otherwise anyone with write access to the backend could plant an unsealed session.
      if (this.acceptPlaintext && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        return { value: value as SessionState, plaintext: undefined, current: false };
      }
      throw new IntegrityError();
    }
    const env = this.context();
    const parts = parseEnvelope(value, this.maxEnvelopeBytes, env);
    const current = parts.kid === env.kid && parts.spec === env.spec;
    const key = current ? env.ctx.key : this.keyFor(parts.kid, parts.spec);
    const plaintext = this.openWith(key, parts.spec, parts.nonce, parts.sealed, envelopeAad(parts.header, this.nsField, id));
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
    return { value: state as SessionState, plaintext, current };
  }

  /**
   * The kid an envelope names, when `value` frames as one (undefined otherwise): what the store
   * asks its keyring to catch up on after an `unknown_key` (Keyring.catchUp, rate-limited).
   */
  kidOf(value: unknown): string | undefined {
    if (!(value instanceof Uint8Array)) return undefined;
    try {
      return parseEnvelope(value, this.maxEnvelopeBytes).kid;
    } catch {
      return undefined;
    }
  }

  private context(): EnvelopeContext {
    const ctx = this.primary();
    let env = this.#envelope;
    if (env === undefined || env.ctx !== ctx) {
      env = { ctx, spec: ctx.spec, kid: ctx.kid, header: envelopeHeader(ctx.spec, ctx.kid) };
      this.#envelope = env;
    }
    return env;
  }
}

// Logged or serialized, a sealer shows its algorithm, namespace and primary kid only.
redactedView(Sealer, (sealer) => ({ algorithm: sealer.algorithm, primaryKid: primaryKidOf(sealer.keyring) }));
redactedView(EnvelopeSealer, (sealer) => ({ namespace: sealer.namespace, algorithm: sealer.algorithm, primaryKid: primaryKidOf(sealer.keyring) }));

function primaryKidOf(keyring: Keyring): string | undefined {
  return keyring.keysFor('encrypt')[0]?.kid;
}

/**
 * `stateJson` of what a layer seals. The layers above seal `{ meta, data }`, where `data` is the
 * caller's state: a fault there is worded in the caller's own terms (`state.cookie`, not
 * `state.data.cookie`), by validating `data` alone, which throws the same fault at its own path.
 */
function sealedStateJson(value: SessionState): string {
  try {
    return stateJson(value);
  } catch (err) {
    if (err instanceof InvalidInputError && isSealed(value)) stateJson(value.data);
    throw err;
  }
}
