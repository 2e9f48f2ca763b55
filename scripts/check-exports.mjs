// After `npm run build`: every file package.json's `exports` and `bin` name exists and every built
// entry is named there, every ESM and CJS entry loads, the core entry (with the chunks it imports)
// loads no peer dependency (ioredis, pg, PGlite, the MCP SDK), and the entries of one format share
// one copy of the library (tsup's code splitting), so `instanceof` and module state never split.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
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
// The core entry and every chunk it imports, statically or not.
function loadedWith(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:from\s*|import\s*\(?\s*|require\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) loadedWith(join(dirname(file), m[1]), seen);
  return seen;
}
for (const format of ['import', 'require']) {
  for (const file of loadedWith(join(root, pkg.exports['.'][format].default))) {
    const text = readFileSync(file, 'utf8');
    for (const peer of ['ioredis', 'redis', 'pg', '@electric-sql/pglite', '@modelcontextprotocol/sdk', '@aws-sdk/client-kms']) {
      if (new RegExp(`from ['"]${peer}['"/]|require\\(['"]${peer}['"/]|import\\(['"]${peer}['"/]`).test(text)) {
        problems.push(`the core entry (${format}) loads the peer dependency ${peer} through ${file.slice(root.length + 1)}`);
      }
    }
  }
}

// Types for every consumer: a subpath's declarations, with the declaration chunks they import, name
// no package outside what its consumer installs (test/consumers/subpaths.json, where every subpath
// has its consumer project: test/package/install.test.ts type-checks each with skipLibCheck false).
// A `./config` whose types imported `pg` would break every TypeScript user without PostgreSQL.
const consumers = JSON.parse(readFileSync(join(root, 'test/consumers/subpaths.json'), 'utf8'));
const builtinType = (spec) => spec.startsWith('node:');
/** A declaration file and every declaration file it imports ('./x.js' is './x.d.ts', './x.cjs' is './x.d.cts'). */
function typesWith(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const m of readFileSync(file, 'utf8').matchAll(/(?:from\s*|import\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    typesWith(join(dirname(file), m[1].replace(/\.js$/, '.d.ts').replace(/\.cjs$/, '.d.cts')), seen);
  }
  return seen;
}
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (subpath === './package.json') continue;
  const consumer = consumers[subpath];
  if (consumer === undefined) {
    problems.push(`${subpath} has no consumer project in test/consumers/subpaths.json`);
    continue;
  }
  for (const format of ['import', 'require']) {
    const types = target[format]?.types;
    if (types === undefined) {
      if (format === 'require' && consumer.esmOnly === undefined) problems.push(`${subpath} has no require types and is not listed as ESM-only`);
      continue;
    }
    for (const file of typesWith(join(root, types))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from\s*|import\s*\(?\s*)['"]([^.'"][^'"]*)['"]/g)) {
        const name = builtinType(m[1]) ? '@types/node' : m[1].startsWith('@') ? m[1].split('/').slice(0, 2).join('/') : m[1].split('/')[0];
        if (!consumer.packages.includes(name)) problems.push(`${subpath} (${format}): ${file.slice(root.length + 1)} imports types from ${m[1]}, which its consumer does not install`);
      }
    }
  }
}

// TypeScript's `node10` resolution (`module: commonjs` without `moduleResolution`) ignores
// `exports`; typesVersions gives it each CommonJS subpath's types, and must name the same files.
const mapped = pkg.typesVersions?.['*'] ?? {};
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (subpath === '.' || subpath === './package.json' || target.require === undefined) continue;
  const want = [target.require.types];
  if (JSON.stringify(mapped[subpath.slice(2)]) !== JSON.stringify(want)) problems.push(`typesVersions["*"]["${subpath.slice(2)}"] should be ${JSON.stringify(want)}`);
}
for (const key of Object.keys(mapped)) {
  if (pkg.exports[`./${key}`]?.require === undefined) problems.push(`typesVersions["*"]["${key}"] names no CommonJS subpath`);
}

// Every built entry is a subpath (or the bin): a tsup entry missing from `exports` is caught here.
const named = new Set([...Object.values(pkg.exports).flatMap((t) => files(t)), ...Object.values(pkg.bin ?? {})].map((f) => join(root, f)));
function builtEntries(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return builtEntries(path);
    return /\.(c?js|d\.c?ts)$/.test(e.name) && !/^chunk-|-[A-Za-z0-9_-]{8}\.d\.c?ts$/.test(e.name) ? [path] : [];
  });
}
for (const file of builtEntries(join(root, 'dist'))) {
  if (!named.has(file)) problems.push(`${file.slice(root.length + 1)} is built but no export names it`);
}

// One copy per format: a class defined in two files would make `instanceof` and module state
// differ between the entries that carry each copy.
for (const ext of ['.js', '.cjs']) {
  const defining = readdirSync(join(root, 'dist'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(ext) && /\bSessionStoreError = class\b|\bclass SessionStoreError\b/.test(readFileSync(join(root, 'dist', f), 'utf8')));
  if (defining.length !== 1) problems.push(`SessionStoreError is defined in ${defining.length} ${ext} files (${defining.join(', ')}), not one shared chunk`);
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`exports ok: ${Object.keys(pkg.exports).length} subpaths, ${Object.keys(pkg.bin ?? {}).length} bin`);
