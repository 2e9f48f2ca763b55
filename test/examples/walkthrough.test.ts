import { afterEach, expect, it, vi } from 'vitest';
import { main } from '../../examples/walkthrough.js';

afterEach(() => vi.restoreAllMocks());

it('the walkthrough (npm start) runs and narrates every step', async () => {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  await main();
  const out = lines.join('\n');
  expect(out).toContain('load -> expired');
  expect(out).toContain('Done.');
});
