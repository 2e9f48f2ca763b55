/**
 * The one constant-time comparison of this library. Every comparison of a secret or of a value
 * derived from one (MAC tags, owner hashes) goes through `constantTimeEqual`, so timing never
 * tells an attacker how many leading bytes of a guess were right.
 * (test/security/constant-time.test.ts checks that no other comparison of secrets exists.)
 */
import { bytesArgument } from '../util/options.js';

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  bytesArgument(a, 'a');
  bytesArgument(b, 'b');
  // The length of a tag or hash is public; only its contents are secret.
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * `constantTimeEqual` for two strings of code units (e.g. base64url of MACs): the same rule, one
 * loop over the code units, no early exit; only the length is public.
 */
export function constantTimeEqualText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
