// `npm run lint:package` (run by .ci/run after the build): packs the package as it would be
// published and runs publint and @arethetypeswrong/cli on the tarball.
//
// attw runs twice. Every subpath but the ESM-only ones is checked under its strictest profile with
// no rule ignored: node10 (through typesVersions), node16 from CommonJS and from ESM, bundler.
// The ESM-only subpaths (test/consumers/subpaths.json `esmOnly`: `./testing`, because vitest is
// ESM-only) are checked with the `esm-only` profile, which ignores exactly the `no-resolution`
// problem under the node10 and node16-from-CommonJS resolutions: they have no `require` condition
// on purpose, so `require()` of them fails with ERR_PACKAGE_PATH_NOT_EXPORTED instead of loading a
// suite that could not run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const consumers = JSON.parse(readFileSync(join(root, 'test/consumers/subpaths.json'), 'utf8'));
const esmOnly = Object.entries(consumers).filter(([, c]) => typeof c === 'object' && c.esmOnly !== undefined).map(([subpath]) => subpath);
const bin = (name) => join(root, 'node_modules/.bin', name);

function step(what, cmd, args, cwd = root) {
  console.log(`lint:package: ${what}`);
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`lint:package: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

const out = mkdtempSync(join(tmpdir(), 'sss-lint-'));
try {
  // --ignore-scripts: dist/ is the one `npm run build` just checked.
  const packed = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: root, encoding: 'utf8' });
  if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const [{ filename, size, unpackedSize, entryCount }] = JSON.parse(packed.stdout);
  console.log(`lint:package: ${filename}: ${entryCount} files, ${(size / 1024).toFixed(0)} KiB packed, ${(unpackedSize / 1024).toFixed(0)} KiB unpacked`);
  const tarball = join(out, filename);
  step('publint --strict', bin('publint'), ['run', '--strict', tarball]);
  step('attw (strict profile)', bin('attw'), [tarball, '--format', 'table-flipped', '--no-emoji', '--no-color', ...(esmOnly.length > 0 ? ['--exclude-entrypoints', ...esmOnly] : [])]);
  if (esmOnly.length > 0) step(`attw (esm-only profile: ${esmOnly.join(', ')})`, bin('attw'), [tarball, '--format', 'table-flipped', '--no-emoji', '--no-color', '--profile', 'esm-only', '--entrypoints', ...esmOnly]);
} finally {
  rmSync(out, { recursive: true, force: true });
}
