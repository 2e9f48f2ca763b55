#!/usr/bin/env node
/**
 * Every relative link in the repository's Markdown (README, SECURITY, docs/, bench/, keys/, test/)
 * points at a file that exists, and every `#anchor` at a heading of that file (GitHub's slug rule:
 * lower case, punctuation dropped, spaces to hyphens, repeats numbered -1, -2, ...).
 * Usage: node scripts/check-links.mjs   (exit 1 and one line per broken link)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function markdownFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'dist') continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.md')) out.push(full);
    }
  };
  walk(root);
  return out;
}

export function slugs(markdown) {
  const seen = new Map();
  const result = new Set();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (m === null) continue;
    const text = m[1].replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

export function checkLinks(root = REPO) {
  const problems = [];
  const cache = new Map();
  const anchorsOf = (file) => {
    if (!cache.has(file)) cache.set(file, slugs(fs.readFileSync(file, 'utf8')));
    return cache.get(file);
  };
  const files = markdownFiles(root);
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const href = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // http:, mailto:, ...
      const [target, anchor] = href.split('#');
      const resolved = target === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(target));
      const rel = path.relative(root, file);
      if (!fs.existsSync(resolved)) {
        problems.push(`${rel}: ${href} (no such file)`);
        continue;
      }
      if (anchor !== undefined && anchor !== '' && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) {
        problems.push(`${rel}: ${href} (no such heading)`);
      }
    }
  }
  return { files: files.length, problems };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, problems } = checkLinks();
  for (const p of problems) console.error(p);
  if (problems.length === 0) console.log(`links: ${files} Markdown files, every relative link resolves`);
  process.exit(problems.length === 0 ? 0 : 1);
}
