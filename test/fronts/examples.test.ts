/**
 * examples/express.ts, examples/fastify.ts and examples/hono.ts run as a user would run them (`npx tsx`, here as
 * `node --import tsx`): each starts its app on a loopback port and walks through it over HTTP.
 */
import { expect, it } from 'vitest';
import { runExample } from '../support/examples.js';

it.each(['express', 'fastify'])('%s.ts: login binds the session, a foreign credential is refused, revokeOwner logs out', async (name) => {
  const run = await runExample(name);
  expect(run.code, run.stderr).toBe(0);
  const session = (step: string) => run.stdout.match(new RegExp(`${step} -> 200 .*\\(session (\\S+)…\\)`))?.[1];
  expect(session('POST /cart/book')).toBeDefined();
  expect(session('POST /login/alice')).toBeDefined();
  expect(session('POST /login/alice')).not.toBe(session('POST /cart/book'));
  expect(run.stdout).toContain('GET /me -> 200 {"user":"alice","cart":["book"]}');
  expect(run.stdout).toContain('GET /api/orders as alice -> 200 {"orders":[],"for":"alice"}');
  expect(run.stdout).toMatch(/GET \/api\/orders as mallory -> 403 \{"(error|code)":"owner_mismatch"\}/);
  expect(run.stdout).toContain('GET /me -> 200 {"user":null,"cart":[]}');
  expect(run.stdout).toContain('Done.');
}, 60_000);

it('hono.ts: secure cookie, login under a new id, a foreign credential refused, logout, the edge check', async () => {
  const run = await runExample('hono');
  expect(run.code, run.stderr).toBe(0);
  const session = (step: string) => run.stdout.match(new RegExp(`${step} -> 200 .*\\(session (\\S+)…\\)`))?.[1];
  expect(session('POST /cart/book')).toBeDefined();
  expect(session('POST /login/alice')).toBeDefined();
  expect(session('POST /login/alice')).not.toBe(session('POST /cart/book'));
  expect(run.stdout).toContain('Set-Cookie attributes: Path=/; HttpOnly; Secure; SameSite=Lax');
  expect(run.stdout).toMatch(/edge check: anonymous[\s\S]*edge check: user/);
  expect(run.stdout).toContain('GET /me -> 200 {"user":"alice","cart":["book"]}');
  expect(run.stdout).toContain('GET /api/orders as alice -> 200 {"orders":[],"for":"alice"}');
  expect(run.stdout).toContain('GET /api/orders as mallory -> 403 {"error":"owner_mismatch"}');
  expect(run.stdout).toContain('the old cookie replayed: GET /me -> 200 {"user":null,"cart":[]}');
  expect(run.stdout).toContain('Done.');
}, 60_000);
