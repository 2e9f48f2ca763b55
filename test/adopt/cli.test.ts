/**
 * `sealed-session adopt connect-redis`: usage errors before anything is touched, and a run stopped
 * by Ctrl-C that says how to resume and leaves the window open.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyring } from 'sealed-session-store';
import { cli, json } from '../cli/helpers.js';
import { REDIS_URL, serviceSkipReason, uniqueSuffix } from '../support/services.js';

describe('sealed-session adopt connect-redis: usage', () => {
  it('refuses a cursor that is not the number a run printed, and a bad batch size (exit 2)', async () => {
    for (const args of [['--cursor', 'abc'], ['--cursor', '1;2'], ['--batch-size', '0']]) {
      const run = await cli(['adopt', 'connect-redis', '--redis', 'redis://127.0.0.1:1', ...args]);
      expect(run.code, run.stderr).toBe(2);
    }
  });
});

const skip = await serviceSkipReason('redis');

describe.skipIf(skip !== undefined)('sealed-session adopt connect-redis: interrupted', () => {
  const legacy = `sess-cli-${uniqueSuffix()}:`;
  const dir = mkdtempSync(join(tmpdir(), 'sss-adopt-cli-'));
  const io = new Redis(REDIS_URL);

  afterAll(async () => {
    const keys = [...(await io.keys(`${legacy}*`)), ...(await io.keys(`sss-adopt:${legacy}*`))];
    if (keys.length > 0) await io.del(...keys);
    io.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops on Ctrl-C, prints the cursor to resume from, and leaves the window open (exit 1)', async () => {
    const keyset = join(dir, 'keyset.json');
    writeFileSync(keyset, JSON.stringify(Keyring.generate().insecureExportCleartextJwks()), { mode: 0o600 });
    await io.set(`${legacy}one-session-id-000000000000001`, JSON.stringify({ cookie: { originalMaxAge: 60_000 }, user: 'a' }), 'EX', 600);
    const ac = new AbortController();
    ac.abort();
    const run = await cli(['adopt', 'connect-redis', '--redis', REDIS_URL, '--prefix', `sss-cli-${legacy}`, '--keyset', keyset, '--insecure-cleartext', '--legacy-prefix', legacy, '--json'], { signal: ac.signal });
    expect(run.code, run.stderr).toBe(1);
    expect(json(run)).toMatchObject({ ok: false, done: false, interrupted: true, cursor: '0' });
    expect(await io.hget(`sss-adopt:${legacy}state`, 'state')).toBe('open');
    expect(await io.exists(`${legacy}one-session-id-000000000000001`)).toBe(1);
  });
});
