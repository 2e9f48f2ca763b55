/**
 * Version tokens for the record-level compare-and-swap: 128 random bits, base64url.
 * Random rather than a counter so a delete + re-create can never reissue a version an old
 * writer still holds (the ABA problem), even across processes and restarts.
 */
import { base64urlEncode } from '../util/bytes.js';
import { type RandomSource, drawRandom } from '../util/random.js';

export function newVersion(random?: RandomSource): string {
  return base64urlEncode(drawRandom(random, 16));
}
