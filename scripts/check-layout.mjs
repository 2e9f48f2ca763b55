#!/usr/bin/env node
/**
 * Layout rules the design holds to, checked on the source tree (no build needed):
 * - no import cycle anywhere in src/, test/, bench/ and examples/, type-only imports and
 *   re-exports included (a cycle through types still couples two files' designs);
 * - no file in src/ over 400 lines, except src/backends/sql.ts (the SQL of both SQL backends).
 * Prints each violation and exits 1, or prints a one-line summary and exits 0.
 * Usage: node scripts/check-layout.mjs [--json]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOTS = ['src', 'test', 'bench', 'examples'];
const MAX_LINES = 400;
const LINE_EXEMPT = new Set(['src/backends/sql.ts']);
const EXT = /\.(ts|mts|cts|js|mjs)$/;

function walk(dir, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (EXT.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

// Static imports, `export … from`, `import type`, and dynamic `import('…')` with a literal.
const SPEC = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function resolveImport(fromFile, spec, files) {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, path.join(base, 'index.ts')];
  return candidates.find((c) => files.has(c));
}

export function checkLayout(root = REPO) {
  const list = ROOTS.filter((r) => fs.existsSync(path.join(root, r))).flatMap((r) => walk(path.join(root, r), []));
  const files = new Set(list);
  const graph = new Map();
  const problems = [];
  for (const file of list) {
    const text = fs.readFileSync(file, 'utf8');
    const deps = new Set();
    for (const m of text.matchAll(SPEC)) {
      const target = resolveImport(file, m[1] ?? m[2] ?? m[3], files);
      if (target !== undefined && target !== file) deps.add(target);
    }
    graph.set(file, [...deps]);
    const rel = path.relative(root, file);
    if (rel.startsWith(`src${path.sep}`) && !LINE_EXEMPT.has(rel)) {
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
      if (lines > MAX_LINES) problems.push(`${rel}: ${lines} lines (at most ${MAX_LINES} in src/)`);
    }
  }
  // Tarjan's strongly connected components: every component of more than one file is a cycle.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.push(path.relative(root, w));
      } while (w !== v);
      if (comp.length > 1) cycles.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  for (const c of cycles) problems.push(`import cycle: ${c.join(' <-> ')}`);
  return { files: list.length, problems };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, problems } = checkLayout();
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ files, problems })}\n`);
  else if (problems.length === 0) console.log(`layout: ${files} files, no import cycle, no src/ file over ${MAX_LINES} lines`);
  else for (const p of problems) console.error(p);
  process.exit(problems.length === 0 ? 0 : 1);
}
