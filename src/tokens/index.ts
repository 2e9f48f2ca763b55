/**
 * sealed-session-store/tokens: low-level token checks. `SecureStore` already issues and verifies
 * session tokens; this entry is for code that checks a compact token itself (a gateway, a worker)
 * or mints session ids outside a store.
 */
export { SessionTokens, type SessionTokensOptions, type VerifiedToken, TOKEN_TYP, MAX_CLOCK_TOLERANCE_MS } from './token.js';
export { verifyCompact, verifyCompactBytes, type CompactHeader, type VerifyCompactOptions, MAX_TOKEN_LENGTH } from './jws.js';
export { tokenVerifier, type TokenVerifier, type TokenVerifierOptions } from './verifier.js';
export { createSessionId } from './session-id.js';
export { constantTimeEqual } from '../crypto/compare.js';
