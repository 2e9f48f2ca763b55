/**
 * The decoy record behind `hideExistence`.
 *
 * With `hideExistence` on, a stranger asking for another owner's session and for an id that does not
 * exist gets the same answer (`not_found`). The answer must also cost the same: another owner's id is
 * opened (one AEAD open, the JSON parse, the sealed-shape check) and compared (the owner hash under the
 * session's hash key, in constant time; the audit tag when an audit sink is set), while a missing id
 * would otherwise return at once. Measured before this file: 3-5x apart, a timing oracle that tells
 * whether an id exists (enumeration of live sessions, or confirming a leaked id is still live).
 *
 * So a missing id opens and checks this decoy instead: an envelope sealed in memory (never stored)
 * under the primary encrypt key, holding the sealed shape of a session that belongs to nobody (random
 * owner and subject hashes). It is sealed once per primary key (one nonce of that key's budget) and
 * opened on every miss, through the same sealer and the same checks as a stored record.
 *
 * What it does not equalize: the backend's own answer time for a hit and a miss, and the open of a
 * session much larger than the decoy (AEAD time grows with the size, and so does the backend's reply).
 */
import type { Keyring } from '../keys/keyring.js';
import { base64urlEncode } from '../util/bytes.js';
import { type RandomSource, secureRandom } from '../util/random.js';
import { type Sealed, asSealed, toState } from './sealed.js';
import type { EnvelopeSealer } from './sealer.js';
import { type TtlPolicy, newMeta } from './ttl-policy.js';

/** The id the decoy is sealed under (its AAD): reserved, so no session can ever have it. */
export const DECOY_ID = '~decoy';

/**
 * Shaped like a small MCP session (about 1 KB of JSON: the stored initialize, a log level, a few keys
 * of app state): parsing JSON costs by structure as well as by size, so the filler is not one string.
 */
const DECOY_DATA = {
  '$mcp:init': {
    v: 1,
    protocolVersion: '2025-06-18',
    capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} },
    clientInfo: { name: 'client', version: '1.0.0' },
  },
  '$mcp:logLevel': 'info',
  history: Array.from({ length: 8 }, (_, i) => ({ tool: 'search_docs', at: 1_900_000_000_000 + i, args: { query: 'summary of the quarterly report', page: i } })),
  count: 0,
};

export class DecoyRecord {
  private sealed: { bytes: Uint8Array; encryptKid: string; hashKid: string } | undefined;

  constructor(
    private readonly sealer: EnvelopeSealer,
    private readonly keyring: Keyring,
    private readonly policy: TtlPolicy,
    private readonly now: () => number,
    private readonly random: RandomSource | undefined,
  ) {}

  /** Opens and checks the decoy as a load opens and checks a stored record; resolves its sealed shape. */
  open(): Sealed {
    return asSealed(this.sealer.open(DECOY_ID, this.envelope()).value);
  }

  /** The decoy envelope, sealed again when the primary encrypt or hash key changed (rotation, reload). */
  private envelope(): Uint8Array {
    const encryptKid = this.sealer.primary().kid;
    const hashKid = this.keyring.primary('hash').kid;
    const cur = this.sealed;
    if (cur !== undefined && cur.encryptKid === encryptKid && cur.hashKid === hashKid) return cur.bytes;
    const hash = () => base64urlEncode((this.random ?? secureRandom)(32));
    const meta = { ...newMeta(this.policy, this.now(), this.policy.idleMs), owner: hash(), subject: hash(), ownerKid: hashKid };
    const bytes = this.sealer.seal(DECOY_ID, this.sealer.serialize(toState({ meta, data: DECOY_DATA })));
    this.sealed = { bytes, encryptKid, hashKid };
    return bytes;
  }
}
