/**
 * The edge claim, run for real: the core (secureStore over MemoryStore, the pure-JS @noble engine,
 * tokens, verifyToken, resume, the edge tokenVerifier) inside workerd (no nodejs_compat), Bun and
 * Deno (no permissions), from one esbuild bundle of the library's entries. With a fixed keyset,
 * clock and randomness each runtime must write the same envelope and token bytes as Node's
 * node:crypto engine; envelopes and tokens sealed with each runtime's own CSPRNG must open in Node
 * and the other way round. Then the edge middleware pattern of docs/edge.md runs in workerd in
 * front of a Node origin. A runtime whose binary is absent is skipped with a printed reason.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, isSessionStoreError, secureStore } from 'sealed-session-store';
import { type Runtime, type Workerd, bundleFixtures, runCli, runtimeBinary, startWorkerd } from './harness.js';

let dir: string;
let bundle: { cli: string; worker: string };
let nodeRef: any;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sss-edge-'));
  bundle = await bundleFixtures(dir);
  // Node's reference: the same bundle, sealing with node:crypto.
  nodeRef = await runCli(process.execPath, [bundle.cli], { engine: 'node' });
}, 60_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the Node reference', () => {
  it('seals, verifies and resumes, and node:crypto and @noble write the same bytes', async () => {
    expect(nodeRef.engine).toBe('node');
    expect(nodeRef.fixed.resumed.state).toEqual({ cart: ['book'], n: 2, note: 'héllo ✓' });
    expect(nodeRef.fixed.edgeVerified).toEqual(nodeRef.fixed.verified);
    expect(nodeRef.fixed).toMatchObject({ wrongOwner: { code: 'owner_mismatch' }, tampered: { code: 'invalid_token' }, stranger: { code: 'owner_mismatch' } });
    // The envelope layout of SECURITY.md: version 1, algorithm 1 (AES-256-GCM), kid "enc-1".
    expect(nodeRef.fixed.created.slice(0, 16)).toBe('010105656e632d31');
    const noble = await runCli(process.execPath, [bundle.cli], { engine: 'noble' });
    expect(noble.fixed).toEqual(nodeRef.fixed);
  });
});

/** How each runtime runs the scenario. */
const runners: Record<Runtime, (binary: string, input: unknown) => Promise<any>> = {
  bun: (bin, input) => runCli(bin, [bundle.cli], input),
  // No --allow-* flag: the core needs no permission at all.
  deno: (bin, input) => runCli(bin, ['run', '--no-prompt', bundle.cli], input, { DENO_DIR: join(dir, 'deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }),
  workerd: async (_bin, input) => {
    const res = await fetch(`${workerd!.url}/__scenario`, { method: 'POST', body: JSON.stringify(input) });
    const body = (await res.json()) as any;
    if (res.status !== 200) throw new Error(`workerd scenario failed: ${body.error}`);
    return body;
  },
};

// workerd is started once, for the scenario and the middleware tests; its ORIGIN is the Node origin below.
let workerd: Workerd | undefined;
let origin: Server | undefined;
let originHits = 0;
let originNow = Date.now();
const originKeyring = Keyring.generate();
const originStore = secureStore(new MemoryStore({ now: () => originNow }), { keyring: originKeyring, namespace: 'edge-origin', now: () => originNow });

for (const runtime of ['workerd', 'bun', 'deno'] as const) {
  describe(`in ${runtime}`, () => {
    const binary = runtimeBinary(runtime);
    const maybe = binary === undefined ? it.skip : it;

    if (runtime === 'workerd' && binary !== undefined) {
      beforeAll(async () => {
        origin = createServer(async (req, res) => {
          originHits++;
          const subject = req.headers['x-test-subject'];
          const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
          try {
            const { sessionId, state } = await originStore.resume(token, { subject: String(subject) });
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ origin: 'resumed', sessionId, state }));
          } catch (err) {
            const code = isSessionStoreError(err) ? err.code : 'error';
            res.writeHead(code === 'not_found' ? 404 : 401, { 'content-type': 'application/json' }).end(JSON.stringify({ origin: code }));
          }
        });
        await new Promise<void>((r) => origin!.listen(0, '127.0.0.1', r));
        const exported = JSON.stringify(originKeyring.insecureExportTokenKeys());
        workerd = await startWorkerd(binary, bundle.worker, exported, (origin.address() as AddressInfo).port);
      }, 60_000);
      afterAll(async () => {
        await workerd?.stop();
        await new Promise((r) => origin?.close(r));
      });
    }

    maybe('writes the same envelope and token bytes as Node with fixed randomness (pure-JS engine)', async () => {
      const out = await runners[runtime](binary!, { engine: 'noble' });
      expect(out.engine).toBe('noble');
      expect(out.fixed).toEqual(nodeRef.fixed);
    });

    if (runtime !== 'workerd') {
      maybe('has node:crypto too (process.getBuiltinModule), and its engine writes the same bytes', async () => {
        const out = await runners[runtime](binary!, { engine: 'node' });
        expect(out.hasNodeBuiltins).toBe(true);
        expect(out.fixed).toEqual(nodeRef.fixed);
      });
    }

    maybe('opens what Node sealed with its own CSPRNG, and Node opens what it sealed', async () => {
      // 'auto': @noble in workerd (no node:crypto there), node:crypto in Bun and Deno.
      const out = await runners[runtime](binary!, { engine: 'auto', foreign: [nodeRef.fresh] });
      expect(out.fresh.envelope).not.toBe(nodeRef.fresh.envelope);
      expect(out.foreign).toEqual([{ edge: expect.objectContaining({ sessionId: nodeRef.fresh.id }), resumed: { sessionId: nodeRef.fresh.id, state: { from: 'node', list: [1, 2, 3] } } }]);
      const back = await runCli(process.execPath, [bundle.cli], { engine: 'node', foreign: [out.fresh] });
      expect(back.foreign[0].resumed).toEqual({ sessionId: out.fresh.id, state: { from: 'auto', list: [1, 2, 3] } });
      expect(back.foreign[0].edge.sessionId).toBe(out.fresh.id);
      // workerd runs without nodejs_compat: 'auto' had no node:crypto to pick, so it sealed with @noble.
      if (runtime === 'workerd') expect(out.hasNodeBuiltins).toBe(false);
    });

    if (runtime !== 'workerd') return;

    describe('the edge middleware (token check at the edge, resume at the origin)', () => {
      const alice = { subject: 'alice' };
      const call = async (headers: Record<string, string>) => {
        const res = await fetch(`${workerd!.url}/app`, { headers });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };

      maybe('forwards a valid token to the origin, which resumes the session', async () => {
        const id = await originStore.for(alice).create({ cart: ['book'] });
        const token = originStore.issueToken(id, alice);
        const before = originHits;
        expect(await call({ authorization: `Bearer ${token}`, 'x-test-subject': 'alice' })).toEqual({ status: 200, body: { origin: 'resumed', sessionId: id, state: { cart: ['book'] } } });
        expect(originHits).toBe(before + 1);
      });

      maybe('refuses at the edge, without reaching the origin: no principal, no token, forged, tampered, another owner', async () => {
        const id = await originStore.for(alice).create({});
        const token = originStore.issueToken(id, alice);
        const forged = secureStore(new MemoryStore(), { keyring: Keyring.generate() }).issueToken(id, alice);
        const [h, p, s] = token.split('.');
        const tampered = `${h}.${p}.${s!.startsWith('A') ? 'B' : 'A'}${s!.slice(1)}`;
        const before = originHits;
        expect(await call({ authorization: `Bearer ${token}` })).toEqual({ status: 401, body: { edge: 'unauthenticated' } });
        expect(await call({ 'x-test-subject': 'alice' })).toEqual({ status: 401, body: { edge: 'no session token' } });
        expect(await call({ authorization: `Bearer ${forged}`, 'x-test-subject': 'alice' })).toEqual({ status: 401, body: { edge: 'invalid_token' } });
        expect(await call({ authorization: `Bearer ${tampered}`, 'x-test-subject': 'alice' })).toEqual({ status: 401, body: { edge: 'invalid_token' } });
        expect(await call({ authorization: `Bearer ${token}`, 'x-test-subject': 'mallory' })).toEqual({ status: 401, body: { edge: 'owner_mismatch' } });
        expect(originHits).toBe(before);
      });

      maybe('does not see deletion or revocation: the edge passes them, the origin refuses', async () => {
        const deleted = await originStore.for({ subject: 'bob' }).create({});
        const deletedToken = originStore.issueToken(deleted, { subject: 'bob' });
        await originStore.for({ subject: 'bob' }).delete(deleted);
        const revoked = await originStore.for({ subject: 'carol' }).create({});
        const revokedToken = originStore.issueToken(revoked, { subject: 'carol' });
        originNow += 1; // revocation covers the sessions created before it
        await originStore.revokeOwner('carol');
        const before = originHits;
        expect(await call({ authorization: `Bearer ${deletedToken}`, 'x-test-subject': 'bob' })).toEqual({ status: 404, body: { origin: 'not_found' } });
        expect(await call({ authorization: `Bearer ${revokedToken}`, 'x-test-subject': 'carol' })).toEqual({ status: 404, body: { origin: 'not_found' } });
        expect(originHits).toBe(before + 2);
      });

      maybe('holds no encryption key: the binding is the token-key export', () => {
        const exported = originKeyring.insecureExportTokenKeys();
        expect(exported.keys.some((k) => k.purpose === 'encrypt')).toBe(false);
        expect(exported.keys.map((k) => k.kid)).not.toContain(originKeyring.primary('encrypt').kid);
      });
    });
  });
}
