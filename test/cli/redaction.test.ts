/**
 * The CLI never prints a credential of the server URL it was given (userinfo or query parameter),
 * in text or `--json` output, for either client library it connects with.
 */
import { join } from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir } from './helpers.js';

const SECRET = 'hunter2-S3cret';
let port = 0;
let dir: { dir: string; remove: () => Promise<void> };
let keyset = '';

beforeAll(async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  dir = await tempDir();
  keyset = join(dir.dir, 'keyset.json');
  expect((await cli(['keys', 'generate', '--keyset', keyset, '--insecure-cleartext'])).code).toBe(0);
});
afterAll(() => dir.remove());

describe('sealed-session: connection errors do not print URL credentials', () => {
  const urls: Array<['--redis' | '--postgres', string]> = [
    ['--redis', `redis://127.0.0.1:PORT/?password=${SECRET}`],
    ['--redis', `redis://:${SECRET}@127.0.0.1:PORT/`],
    ['--redis', `redis://${SECRET}@127.0.0.1:PORT/`],
    ['--postgres', `postgres://app@127.0.0.1:PORT/db?password=${SECRET}`],
    ['--postgres', `postgres://app:${SECRET}@127.0.0.1:PORT/db`],
    ['--postgres', `postgres://app@127.0.0.1:PORT/db?sslpassword=${SECRET}`],
  ];
  for (const [flag, template] of urls) {
    it(`${flag} ${template.replace(SECRET, '<secret>')}`, async () => {
      const url = template.replace('PORT', String(port));
      for (const extra of [[], ['--json']]) {
        const run = await cli(['usage', flag, url, '--keyset', keyset, '--insecure-cleartext', ...extra]);
        expect(run.code).not.toBe(0);
        const printed = run.stdout + run.stderr;
        expect(printed).toMatch(/backend_unavailable|cannot reach/);
        expect(printed).not.toContain(SECRET);
      }
    });
  }
});
