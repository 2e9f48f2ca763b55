import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without type declarations
import { checkLayout } from '../../scripts/check-layout.mjs';

type Layout = { files: number; problems: string[] };
const check = checkLayout as (root?: string) => Layout;

describe('repository layout', () => {
  it('has no import cycle (type-only included) and no src/ file over 400 lines', () => {
    const { files, problems } = check();
    expect(files).toBeGreaterThan(100);
    expect(problems).toEqual([]);
  });

  it('the checker finds a type-only cycle and an oversized file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sss-layout-'));
    try {
      fs.mkdirSync(path.join(dir, 'src'));
      fs.writeFileSync(path.join(dir, 'src/a.ts'), "import type {\n  B,\n} from './b.js';\nexport type A = B;\n");
      fs.writeFileSync(path.join(dir, 'src/b.ts'), "export type { A as B } from './a.js';\n");
      fs.writeFileSync(path.join(dir, 'src/big.ts'), 'export const x = 1;\n'.repeat(401));
      const { problems } = check(dir);
      expect(problems).toContain('import cycle: src/a.ts <-> src/b.ts');
      expect(problems.some((p) => p.startsWith('src/big.ts: 401 lines'))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
