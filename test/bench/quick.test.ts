/**
 * CI smoke for the benchmark: `bench/run.ts --smoke` (every suite and row, the least iterations, 500
 * sessions for the admin operations) must exit 0 and write its JSON. A benchmark is not a test:
 * nothing here looks at a timing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(path.join(os.tmpdir(), 'sss-bench-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

it('npm run bench -- --smoke exits 0 and writes its JSON and markdown', { timeout: 90_000 }, () => {
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  const run = spawnSync(tsx, ['bench/run.ts', '--smoke', '--out', out], { cwd: root, encoding: 'utf8', timeout: 85_000 });
  if (run.status !== 0) console.error(run.stdout, run.stderr);
  expect(run.status).toBe(0);
  const file = path.join(out, 'latest.json');
  expect(existsSync(file)).toBe(true);
  expect(existsSync(path.join(out, 'latest.md'))).toBe(true);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { mode: string; measurements: Array<{ id: string }>; targets: Array<{ id: string }>; pairs: Array<{ id: string }> };
  expect(doc.mode).toBe('smoke');
  // Rows that need no service are always there.
  const ids = doc.measurements.map((m) => m.id);
  expect(ids).toContain('floors/json/1KB');
  expect(ids).toContain('layers/memory/full/1KB/seq/save+load');
  expect(ids).toContain('tokens/ours/verify');
  expect(doc.targets.map((t) => t.id)).toContain('token-vs-jose');
  expect(doc.pairs.map((p) => p.id)).toEqual(expect.arrayContaining(['memory-vs-json', 'memory-vs-iron', 'token-vs-jose']));
});
