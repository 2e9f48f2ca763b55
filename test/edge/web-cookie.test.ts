/**
 * The edge check of sealed-session-store/web (`verifySessionCookie` over `tokenVerifier`) bundles
 * for a runtime without Node built-ins (esbuild, platform neutral: a static import of one anywhere
 * on its path fails the build), and the bundle, loaded on its own, accepts the cookie a real store
 * issued and refuses a forged one. (The workerd / Bun / Deno runs of the token verifier itself are
 * in runtimes.test.ts.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { expect, it } from 'vitest';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { webSessions } from 'sealed-session-store/web';
import { ROOT } from './harness.js';

it('verifySessionCookie bundles without Node built-ins and checks a real cookie', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sss-web-edge-'));
  try {
    const entry = join(dir, 'entry.ts');
    await writeFile(
      entry,
      `export { verifySessionCookie } from ${JSON.stringify(join(ROOT, 'src/web/edge.ts'))};\nexport { tokenVerifier } from ${JSON.stringify(join(ROOT, 'src/tokens/index.ts'))};\n`,
    );
    const out = join(dir, 'edge.mjs');
    await build({ entryPoints: [entry], outfile: out, bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', mainFields: ['module', 'main'], logLevel: 'silent' });
    const edge = (await import(pathToFileURL(out).href)) as typeof import('../../src/web/edge.js') & typeof import('../../src/tokens/index.js');

    const store = secureStore(new MemoryStore(), { keyring: Keyring.generate() });
    const sessions = webSessions(store);
    const session = await sessions.open(new Request('https://app.test/'));
    await session.login('alice');
    const res = await sessions.commit(session, new Response('ok'));
    const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
    const verifier = edge.tokenVerifier(JSON.stringify(store.keyring.insecureExportTokenKeys()));
    const request = (value: string) => new Request('https://app.test/', { headers: { cookie: value } });
    expect(edge.verifySessionCookie(request(cookie), verifier)).toEqual({ kind: 'user' });
    expect(edge.verifySessionCookie(request(cookie), verifier, { owner: { subject: 'alice' } })).toMatchObject({ kind: 'owner', sessionId: session.id });
    expect(edge.verifySessionCookie(request(`${cookie.slice(0, -2)}${cookie.endsWith('AA') ? 'BA' : 'AA'}`), verifier)).toBeUndefined();
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
