import { afterEach, expect, it, vi } from 'vitest';
import { main } from '../../examples/walkthrough.js';

afterEach(() => vi.restoreAllMocks());

it('the walkthrough (npm start) runs and narrates every step', async () => {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  await main();
  const out = lines.join('\n');
  // wrapping, creating a session and its token, reconnecting as the owner
  expect(out).toContain('1. Wrap an existing store');
  expect(out).toMatch(/resume\(token, alice\) -> ok \{"protocolVersion"/);
  // a stranger refused
  expect(out).toContain('resume(token, mallory) -> owner_mismatch');
  expect(out).toContain('mallory.load(id) -> owner_mismatch');
  // a partial update
  expect(out).toMatch(/load -> ok \{.*"cart":\["book"\],"lastTool":"search"\}/);
  // what the backend holds: ciphertext, no plaintext
  expect(out).toMatch(/hex {4}0101[0-9a-f]+…/);
  expect(out).toContain('contains "alice"? false  contains "book"? false');
  // rotation via the API and re-keying
  expect(out).toMatch(/rekey -> scanned 2, re-sealed 2, already current 0, failed 0/);
  expect(out).toMatch(/retireKey\(\S+\) -> retired/);
  // revocation and expiry
  expect(out).toMatch(/revokeOwner\('alice'\) -> marked, and deleted [1-9]\d* session\(s\)/);
  expect(out).toContain('resume(token, alice) -> not_found');
  expect(out).toContain('bob.load -> expired');
  expect(out).toMatch(/cleanupExpired -> removed \d+/);
  expect(out).toContain('Done.');
});
