import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without type declarations
import { checkLinks } from '../../scripts/check-links.mjs';

type Links = { files: number; problems: string[] };
const check = checkLinks as (root?: string) => Links;
const root = path.resolve(import.meta.dirname, '../..');

describe('documentation', () => {
  it('every relative link and anchor in the Markdown resolves', () => {
    const { files, problems } = check();
    expect(files).toBeGreaterThan(10);
    expect(problems).toEqual([]);
  });

  it('the README stays a front page (at most about 15 KB; the manual lives in docs/)', () => {
    expect(fs.statSync(path.join(root, 'README.md')).size).toBeLessThanOrEqual(16 * 1024);
  });

  it('the link checker finds a missing file and a missing heading', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sss-links-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.md'), '# Title\n\n## Some `code` here\n\n[ok](#some-code-here) [bad](#nope) [gone](b.md) [web](https://example.org)\n');
      expect(check(dir).problems).toEqual(['a.md: #nope (no such heading)', 'a.md: b.md (no such file)']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
