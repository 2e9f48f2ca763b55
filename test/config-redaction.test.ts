/**
 * No credential of a server URL reaches a message or a `cause`, whatever form it takes: userinfo
 * (`:pw@`, or a bare `pw@`, which ioredis reads as a password) or a query parameter (`?password=`,
 * `?sslpassword=`), which both client libraries honour. One run per client library the backends
 * accept from a URL: ioredis and pg (PGlite takes a data directory, never a URL).
 */
import net from 'node:net';
import { inspect } from 'node:util';
import { Keyring, isSessionStoreError } from 'sealed-session-store';
import { createSessionStore } from 'sealed-session-store/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../src/config/validate.js';

const SECRET = 'hunter2-S3cret';

/** Everything an error may print: message, stack, every property, the cause chain, under util.inspect and JSON. */
function everythingPrinted(err: unknown): string {
  const parts: string[] = [inspect(err, { depth: Infinity, showHidden: true })];
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    parts.push(e.message, e.stack ?? '', JSON.stringify(e, Object.getOwnPropertyNames(e)));
  }
  return parts.join('\n');
}

let refusedPort = 0;
let silent: net.Server;
let silentPort = 0;
const sockets = new Set<net.Socket>();
beforeAll(async () => {
  // A port nothing listens on (connection refused), and a listener that never answers (timeout).
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  refusedPort = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  silent = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as net.AddressInfo).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

const forms = (scheme: 'redis' | 'postgres', port: number): string[] =>
  scheme === 'redis'
    ? [
        `redis://127.0.0.1:${port}/?password=${SECRET}`,
        `redis://:${SECRET}@127.0.0.1:${port}/`,
        `redis://default:${SECRET}@127.0.0.1:${port}/0`,
        `redis://${SECRET}@127.0.0.1:${port}/`,
        `redis://127.0.0.1:${port}/?db=0&password=${encodeURIComponent(SECRET)}#${SECRET}`,
      ]
    : [
        `postgres://app@127.0.0.1:${port}/db?password=${SECRET}`,
        `postgres://app:${SECRET}@127.0.0.1:${port}/db`,
        `postgresql://app@127.0.0.1:${port}/db?sslmode=disable&sslpassword=${SECRET}`,
        `postgres://app@127.0.0.1:${port}/db?password=${encodeURIComponent(SECRET)}`,
      ];

for (const [library, adapter] of [
  ['ioredis', 'redis'],
  ['pg', 'postgres'],
] as const) {
  describe(`createSessionStore over ${library}: credentials in the URL are never printed`, () => {
    for (const [why, port] of [
      ['refused', () => refusedPort],
      ['no answer', () => silentPort],
    ] as const) {
      it(`connection ${why}`, async () => {
        for (const url of forms(adapter, port())) {
          const err = await createSessionStore({ adapter, url, connectTimeoutMs: 500, keyset: { keyring: Keyring.generate() } }).then(
            (created) => created.close().then(() => new Error('connected?')),
            (e: unknown) => e,
          );
          expect(isSessionStoreError(err, 'backend_unavailable'), String(err)).toBe(true);
          const printed = everythingPrinted(err);
          expect(printed, url).not.toContain(SECRET);
          expect(printed, url).not.toContain(encodeURIComponent(SECRET));
          // The message still says where it tried to connect.
          expect((err as Error).message).toContain(`127.0.0.1:${port()}`);
        }
      });
    }
  });
}

describe('redactUrl', () => {
  it('masks userinfo passwords, a bare Redis userinfo, and every query value that is not a known setting', () => {
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(redactUrl('postgres://u@h/db?password=secret&sslmode=require')).toBe('postgres://u@h/db?password=***&sslmode=require');
    expect(redactUrl('redis://h:6379/?password=secret&db=2')).toBe('redis://h:6379/?password=***&db=2');
    expect(redactUrl('redis://secret@h:6379')).toBe('redis://***@h:6379');
    expect(redactUrl('rediss://user:secret@h:6380/#secret')).toBe('rediss://user:***@h:6380/');
    expect(redactUrl('postgres://u@h/db?token=secret')).not.toContain('secret');
    expect(redactUrl('not a url secret')).toBe('<unparseable URL>');
  });
});
