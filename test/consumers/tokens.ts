// A consumer of ./tokens: an edge check of a session token with only the exported token keys.
import { Keyring } from 'sealed-session-store';
import { SessionTokens, TOKEN_TYP, createSessionId, tokenVerifier } from 'sealed-session-store/tokens';

async function main(): Promise<string> {
  const keyring = Keyring.generate();
  const id = createSessionId();
  const token = new SessionTokens(keyring).issue(id, { subject: 'alice' });
  const verifier = tokenVerifier(keyring.insecureExportTokenKeys());
  const verified = verifier.verify(token, { subject: 'alice' });
  return `typ=${TOKEN_TYP} same=${verified.sessionId === id}`;
}

main().then((detail) => console.log(`ok ${detail}`));
