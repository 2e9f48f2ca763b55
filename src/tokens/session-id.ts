/**
 * Session ids: 192 bits from the CSPRNG, base64url. Far past the 128 bits OWASP asks for, so
 * guessing or enumerating ids is hopeless; URL-safe and visible ASCII only (the MCP rule), and never
 * starting with '~', which the secure store reserves for its own records, nor with '-' (never taken
 * for a command-line option).
 */
import { base64urlId } from '../util/bytes.js';
import { type RandomSource, drawRandom } from '../util/random.js';

export const SESSION_ID_BYTES = 24;

export function createSessionId(random?: RandomSource): string {
  return base64urlId(drawRandom(random, SESSION_ID_BYTES));
}
