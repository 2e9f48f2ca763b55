// After `npm run build`: every file package.json's `exports` and `bin` name exists, every ESM and
// CJS entry loads, and the core entry loads no peer dependency (ioredis, pg, PGlite, the MCP SDK).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const require = createRequire(join(root, 'package.json'));
const problems = [];

function files(target, out = []) {
  if (typeof target === 'string') out.push(target);
  else for (const v of Object.values(target)) files(v, out);
  return out;
}

for (const [subpath, target] of Object.entries(pkg.exports)) {
  for (const file of files(target)) {
    if (!existsSync(join(root, file))) problems.push(`${subpath}: ${file} is missing`);
  }
  if (subpath === './package.json') continue;
  const esm = target.import?.default;
  const cjs = target.require?.default;
  if (esm) await import(pathToFileURL(join(root, esm)).href).catch((e) => problems.push(`${subpath}: ESM import failed: ${e.message}`));
  if (cjs) {
    try {
      require(join(root, cjs));
    } catch (e) {
      problems.push(`${subpath}: CJS require failed: ${e.message}`);
    }
  }
}
for (const [name, file] of Object.entries(pkg.bin ?? {})) {
  if (!existsSync(join(root, file))) problems.push(`bin ${name}: ${file} is missing`);
  else if (!readFileSync(join(root, file), 'utf8').startsWith('#!')) problems.push(`bin ${name}: ${file} has no shebang`);
  else {
    const run = spawnSync(process.execPath, [join(root, file), '--help'], { encoding: 'utf8' });
    if (run.status !== 0) problems.push(`bin ${name}: --help exited ${run.status}: ${run.stderr.slice(0, 300)}`);
  }
}
const core = readFileSync(join(root, pkg.exports['.'].import.default), 'utf8');
for (const peer of ['ioredis', 'pg', '@electric-sql/pglite', '@modelcontextprotocol/sdk']) {
  if (new RegExp(`from ['"]${peer}['"/]|require\\(['"]${peer}['"/]`).test(core)) problems.push(`the core entry loads the peer dependency ${peer}`);
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`exports ok: ${Object.keys(pkg.exports).length} subpaths, ${Object.keys(pkg.bin ?? {}).length} bin`);
