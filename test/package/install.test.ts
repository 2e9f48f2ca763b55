/**
 * The package as users install it. From a private copy of the working tree (never this tree's
 * dist/, which other tests rebuild): `npm pack` (its `prepare` builds), then the tarball is
 * installed into fresh projects with `npm install`, and for every public subpath
 * (test/consumers/subpaths.json) a consumer project holding ONLY that subpath's peers:
 * - type-checks test/consumers/<file>.ts with `skipLibCheck: false`, as ESM and as CommonJS
 *   (`moduleResolution: nodenext`) and under the old `node10` resolution (typesVersions);
 * - runs the compiled consumer in both formats (the ESM-only `./testing` in ESM only).
 * The same tree is also committed to a throwaway git repository and installed by its `git+file:`
 * URL, which runs `prepare` in npm's clone: the installed package must work without a dist/ in git.
 *
 * Minutes of npm work, so it runs when asked: SSS_TEST_PACKAGE=1, or under REQUIRE_SERVICES=1
 * (.ci/run) unless SSS_TEST_PACKAGE=0. Otherwise it skips with the reason printed. Packages come
 * from the npm cache when present (`--prefer-offline`), else from the registry.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CONSUMERS = join(ROOT, 'test/consumers');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const MINUTE = 60_000;

interface Subpath {
  file: string;
  packages: string[];
  esmOnly?: string;
  lib?: string[];
}
const subpaths = Object.entries(JSON.parse(await readFile(join(CONSUMERS, 'subpaths.json'), 'utf8')) as Record<string, Subpath | string>).filter(
  (entry): entry is [string, Subpath] => typeof entry[1] === 'object',
);
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

const asked = process.env.SSS_TEST_PACKAGE;
const enabled = asked === '1' || (asked !== '0' && process.env.REQUIRE_SERVICES === '1');
const SKIP = enabled
  ? undefined
  : asked === '0'
    ? 'SSS_TEST_PACKAGE=0: the install tests are not run by this Node (.ci/run runs them once, on the machine’s Node)'
    : 'packing and installing the package takes minutes: set SSS_TEST_PACKAGE=1 to run it (.ci/run does)';
if (SKIP !== undefined) console.warn(`[skip] ${SKIP}`);

async function run(cmd: string, args: string[], cwd: string, timeout = 10 * MINUTE): Promise<string> {
  try {
    const { stdout } = await exec(cmd, args, { cwd, timeout, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`);
  }
}
const npm = (args: string[], cwd: string, timeout?: number) => run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], cwd, timeout);
/** `name@version` as installed at the root (the version the suite ran with), else the declared peer range. */
async function pinned(name: string): Promise<string> {
  try {
    const { version } = JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
    return `${name}@${version}`;
  } catch {
    const range = pkg.peerDependencies[name];
    if (range === undefined) throw new Error(`${name} is neither installed at the root nor a declared peer`);
    return `${name}@${range}`;
  }
}
async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

let work: string;
let stage: string;
let tarball: string;
/** A fresh project with the tarball installed and no peer. */
let base: string;

beforeAll(async () => {
  if (SKIP !== undefined) return;
  work = await mkdtemp(join(tmpdir(), 'sss-install-'));
  stage = join(work, 'stage');
  // The working tree as git would commit it (tracked and new files, nothing ignored).
  const listed = (await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], ROOT)).split('\0').filter((f) => f !== '');
  for (const file of listed) {
    await mkdir(dirname(join(stage, file)), { recursive: true });
    await cp(join(ROOT, file), join(stage, file), { dereference: false }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // deleted but not yet committed
    });
  }
  await symlink(realpathSync(join(ROOT, 'node_modules')), join(stage, 'node_modules'), 'dir');
  // What `npm pack` runs first (`prepare`), then the pack itself, so its JSON report is all it prints.
  await npm(['run', 'prepare'], stage);
  const packed = JSON.parse(await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], stage)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, packed[0]!.filename);
  const files = packed[0]!.files.map((f) => f.path);
  expect(files.filter((f) => f.endsWith('.map')), 'no source maps ship').toEqual([]);
  expect(files.every((f) => /^(dist\/|package\.json$|README\.md$|SECURITY\.md$|LICENSE)/.test(f)), files.join(' ')).toBe(true);

  base = join(work, 'base');
  await mkdir(base);
  await writeFile(join(base, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  await npm(['install', tarball], base);
  const installed = await bytesUnder(join(base, 'node_modules'));
  console.log(`[package] a library-only consumer installs ${(installed / 1024).toFixed(0)} KiB (${(await readdir(join(base, 'node_modules'))).join(', ')})`);
}, 30 * MINUTE);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.skipIf(SKIP !== undefined)('the packed tarball', () => {
  it('installs only the runtime dependencies: the CLI bundles its own, jose is the tests’', async () => {
    const names = new Set((await readdir(join(base, 'node_modules'), { recursive: true })).map(String));
    for (const dep of Object.keys(pkg.dependencies)) expect(names.has(dep), dep).toBe(true);
    for (const notShipped of ['commander', 'cli-progress', 'jose']) expect(names.has(notShipped), notShipped).toBe(false);
    const help = await run(process.execPath, [join(base, 'node_modules/.bin/sealed-session'), '--help'], base);
    expect(help).toMatch(/Usage: sealed-session/);
  });

  describe.each(subpaths)('%s', (subpath, spec) => {
    it(
      'type-checks with skipLibCheck: false and only its peers, and runs in ESM and CommonJS',
      async () => {
        const dir = join(work, `consumer-${spec.file}`);
        await cp(base, dir, { recursive: true, verbatimSymlinks: true });
        if (spec.packages.length > 0) await npm(['install', ...(await Promise.all(spec.packages.map(pinned)))], dir);
        const source = await readFile(join(CONSUMERS, `${spec.file}.ts`), 'utf8');
        const cjs = spec.esmOnly === undefined;
        await writeFile(join(dir, 'consumer.mts'), source);
        if (cjs) await writeFile(join(dir, 'consumer.cts'), source);
        const compilerOptions = {
          strict: true,
          skipLibCheck: false,
          target: 'es2022',
          lib: ['es2022', 'dom', ...(spec.lib ?? [])],
          // Only the global types the consumer installed (@types/node is not assumed: the root entry suits edge runtimes too).
          types: spec.packages.filter((name) => name.startsWith('@types/')).map((name) => name.slice('@types/'.length)),
          esModuleInterop: true,
          outDir: 'out',
        };
        await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, module: 'nodenext', moduleResolution: 'nodenext' }, files: cjs ? ['consumer.mts', 'consumer.cts'] : ['consumer.mts'] }));
        await run(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
        const esm = await run(process.execPath, ['out/consumer.mjs'], dir, 2 * MINUTE);
        expect(esm, `${subpath} from ESM`).toMatch(/^ok /);
        if (cjs) {
          const required = await run(process.execPath, ['out/consumer.cjs'], dir, 2 * MINUTE);
          expect(required, `${subpath} from CommonJS`).toMatch(/^ok /);
          expect(required).toBe(esm);
          // TypeScript's old `node10` resolution ignores `exports`; typesVersions maps the subpaths.
          await writeFile(join(dir, 'node10.ts'), source);
          await writeFile(
            join(dir, 'tsconfig.node10.json'),
            JSON.stringify({ compilerOptions: { ...compilerOptions, module: 'commonjs', moduleResolution: 'node10', noEmit: true }, files: ['node10.ts'] }),
          );
          await run(process.execPath, [TSC, '-p', 'tsconfig.node10.json'], dir);
        } else {
          await expect(run(process.execPath, ['-e', `require(${JSON.stringify(`${pkg.name}${subpath.slice(1)}`)})`], dir)).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
        }
        await rm(dir, { recursive: true, force: true });
      },
      15 * MINUTE,
    );
  });
});

describe.skipIf(SKIP !== undefined)('a git dependency', () => {
  it(
    'installs by its git URL, builds in prepare and loads in ESM and CommonJS',
    async () => {
      const repo = join(work, 'repo');
      await cp(stage, repo, { recursive: true, verbatimSymlinks: true, filter: (src) => !/\/(node_modules|dist)$/.test(src) });
      const git = (...args: string[]) => run('git', ['-c', 'user.name=ci', '-c', 'user.email=ci@localhost', '-c', 'init.defaultBranch=main', ...args], repo);
      await git('init', '-q');
      await git('add', '-A');
      await git('commit', '-q', '-m', 'the working tree');
      const dir = join(work, 'from-git');
      await mkdir(dir);
      await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
      const started = Date.now();
      await npm(['install', `git+file://${repo}`], dir, 20 * MINUTE);
      console.log(`[package] npm install git+file:// took ${((Date.now() - started) / 1000).toFixed(0)} s (clone, dev install, prepare build, pack)`);
      const probe = `const m = await import('${pkg.name}'); const r = (await import('node:module')).createRequire(process.cwd() + '/'); ` +
        `const c = r('${pkg.name}'); const k = m.Keyring.generate(); console.log(typeof m.secureStore, typeof c.secureStore, m.SessionStoreError === c.SessionStoreError, k.list().length > 0);`;
      const out = await run(process.execPath, ['--input-type=module', '-e', probe], dir);
      expect(out.trim()).toBe('function function false true');
    },
    25 * MINUTE,
  );
});
