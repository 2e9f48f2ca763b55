/**
 * Optional parts stay optional: the built package (tsup, the project's own config) is installed
 * into a fresh node_modules holding only its runtime `dependencies`, once with every optional peer
 * (the database clients, the MCP SDK, vitest) absent and once with each peer replaced by a package
 * that throws the moment it is loaded. Each subpath is imported alone, in ESM and CommonJS, in its
 * own process: only `./testing` needs its peer (vitest) to load; every other subpath loads, and
 * nothing loads a peer until a feature that needs it runs. With the peers absent, the request-state
 * codec of `./mcp` works, and the features that need a peer fail `backend_unavailable`, naming it.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  exports: Record<string, string | { import?: unknown; require?: unknown }>;
};
/** Every optional peer, and vitest (what `./testing` needs). */
const PEERS = [...Object.keys(pkg.peerDependencies), 'vitest'];
/** The one subpath allowed to need a peer at import, and the peer. */
// ./express extends express-session's Store class, so it needs express-session loaded to exist at all.
const NEEDS_PEER: Record<string, string> = { './testing': 'vitest', './express': 'express-session' };

let dir: string;
/** A project with the package and its dependencies, no peer. */
let bare: string;
/** The same, each peer a package that throws when loaded. */
let poisoned: string;

async function project(at: string, built: string): Promise<void> {
  const mine = join(at, 'node_modules', pkg.name);
  await mkdir(mine, { recursive: true });
  await writeFile(join(mine, 'package.json'), JSON.stringify(pkg));
  // A copy, not a link: Node resolves a module from its real path, and dist/ must resolve from here.
  await cp(built, join(mine, 'dist'), { recursive: true });
  for (const dep of Object.keys(pkg.dependencies)) {
    await mkdir(dirname(join(at, 'node_modules', dep)), { recursive: true });
    await symlink(realpathSync(join(ROOT, 'node_modules', dep)), join(at, 'node_modules', dep), 'dir');
  }
}

async function poison(at: string, name: string): Promise<void> {
  const where = join(at, 'node_modules', name);
  await mkdir(where, { recursive: true });
  const throwing = `throw new Error('optional peer loaded: ${name}');\n`;
  await writeFile(join(where, 'poison.cjs'), throwing);
  await writeFile(join(where, 'poison.mjs'), throwing);
  const target = { import: './poison.mjs', require: './poison.cjs' };
  await writeFile(join(where, 'package.json'), JSON.stringify({ name, version: '99.0.0', main: './poison.cjs', exports: { '.': target, './*': target } }));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sss-peers-'));
  const built = join(dir, 'dist');
  await build({ outDir: built, dts: false, sourcemap: false, silent: true });
  bare = join(dir, 'bare');
  poisoned = join(dir, 'poisoned');
  await project(bare, built);
  await project(poisoned, built);
  for (const peer of PEERS) await poison(poisoned, peer);
}, 240_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Runs `code` in a fresh Node process in `cwd` (ESM or CommonJS), resolving packages from there only. */
async function node(cwd: string, format: 'esm' | 'cjs', code: string): Promise<any> {
  const { stdout } = await run(process.execPath, ['--input-type', format === 'esm' ? 'module' : 'commonjs', '-e', code], {
    cwd,
    timeout: 60_000,
    env: { PATH: process.env.PATH, HOME: dir },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

function loadCode(format: 'esm' | 'cjs', specifier: string): string {
  const report = `(m) => console.log(JSON.stringify({ ok: true, names: Object.keys(m).length }))`;
  const fail = `(e) => console.log(JSON.stringify({ ok: false, message: String(e && e.message) }))`;
  return format === 'esm'
    ? `import(${JSON.stringify(specifier)}).then(${report}, ${fail});`
    : `try { (${report})(require(${JSON.stringify(specifier)})); } catch (e) { (${fail})(e); }`;
}

const cases = Object.entries(pkg.exports)
  .filter(([subpath]) => subpath !== './package.json')
  .flatMap(([subpath, target]) =>
    (['esm', 'cjs'] as const).filter((f) => typeof target === 'object' && target[f === 'esm' ? 'import' : 'require'] !== undefined).map((format) => ({ subpath, format })),
  );

describe.each(['absent', 'poisoned'] as const)('optional peers %s', (setup) => {
  it.each(cases)('$subpath ($format) loads unless it needs a peer', async ({ subpath, format }) => {
    const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
    const result = await node(setup === 'absent' ? bare : poisoned, format, loadCode(format, specifier));
    const peer = NEEDS_PEER[subpath];
    if (peer === undefined) {
      expect(result).toEqual({ ok: true, names: expect.any(Number) });
      expect(result.names).toBeGreaterThan(0);
    } else {
      expect(result.ok).toBe(false);
      expect(result.message).toContain(peer);
    }
  });
});

describe('without any optional peer installed', () => {
  it.each(['esm', 'cjs'] as const)('the request-state codec works, and what needs a peer fails backend_unavailable naming it (%s)', async (format) => {
    const load = (sub: string) => (format === 'esm' ? `await import('${pkg.name}${sub}')` : `require('${pkg.name}${sub}')`);
    const body = `
      const root = ${load('')};
      const mcp = ${load('/mcp')};
      const config = ${load('/config')};
      const out = {};
      const keyring = root.Keyring.generate();
      const codec = mcp.requestStateCodec({ keyring, namespace: 'peers' });
      out.codec = codec.open(codec.seal({ page: 2 }, { bind: 's1' }), { bind: 's1' });
      const store = root.secureStore(new root.MemoryStore(), { keyring });
      let seen;
      const sessions = mcp.mcpSessions({ store, createServer: () => { throw new Error('not reached'); }, principal: () => ({ subject: 'a' }), onError: (e) => { seen = e; } });
      const res = await sessions.handleRequest(new Request('http://127.0.0.1/mcp', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
      }));
      out.mcp = { status: res.status, code: seen && seen.code, message: seen && seen.message };
      await sessions.close();
      for (const [adapter, url] of [['redis', 'redis://127.0.0.1:1'], ['postgres', 'postgres://127.0.0.1:1/none']]) {
        try {
          const s = await config.createSessionStore({ adapter, url, keyset: { keyring } });
          await s.listActive();
          out[adapter] = 'no error';
        } catch (e) {
          out[adapter] = { code: e.code, message: e.message };
        }
      }
      console.log(JSON.stringify(out));`;
    const code = format === 'esm' ? body : `(async () => { ${body} })().catch((e) => { console.log(JSON.stringify({ crashed: String(e && e.stack) })); });`;
    const out = await node(bare, format, code);
    expect(out.codec).toEqual({ page: 2 });
    expect(out.mcp).toMatchObject({ status: 503, code: 'backend_unavailable', message: expect.stringContaining('@modelcontextprotocol/sdk') });
    expect(out.redis).toMatchObject({ code: 'backend_unavailable', message: expect.stringContaining('ioredis') });
    expect(out.postgres).toMatchObject({ code: 'backend_unavailable', message: expect.stringContaining("'pg'") });
  });
});
