/**
 * What the framework-front tests share: a browser's cookie jar over `fetch`, a server listening on
 * 127.0.0.1:0, the signed cookie the frameworks use, and the backends the fronts run over.
 */
import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixtures } from '../support/fixtures/index.js';
import type { BackendFixture } from '../support/fixtures/types.js';

/** The fronts run over memory, Redis and PostgreSQL (PGlite adds nothing a front could notice). */
export const frontFixtures: BackendFixture[] = fixtures.filter((f) => f.name !== 'pglite');

/** One browser: keeps the cookies a server sets and sends them back. */
export class Browser {
  readonly cookies = new Map<string, string>();
  lastSetCookie: string[] = [];

  constructor(readonly base: string) {}

  async fetch(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(`${this.base}${path}`, { ...init, headers: { ...init.headers, ...(cookie === '' ? {} : { cookie }) } });
    this.lastSetCookie = res.headers.getSetCookie();
    for (const line of this.lastSetCookie) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  async json(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await this.fetch(path, init);
    const text = await res.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: res.status, body };
  }
}

/** Starts `server` on a free loopback port; resolves its base URL and a close function. */
export async function listen(server: Server): Promise<{ base: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The session id inside a signed cookie value (`s:<id>.<signature>`, URL-encoded, as both frameworks write it). */
export function sessionIdOf(cookieValue: string | undefined): string | undefined {
  if (cookieValue === undefined) return undefined;
  const text = decodeURIComponent(cookieValue);
  const body = text.startsWith('s:') ? text.slice(2) : text;
  const dot = body.lastIndexOf('.');
  return dot < 0 ? body : body.slice(0, dot);
}

/** A cookie value signed with `secret` as express-session and @fastify/cookie sign it (HMAC-SHA256, base64 without padding). */
export function signedCookie(id: string, secret: string, prefix = 's:'): string {
  const sig = createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '');
  return encodeURIComponent(`${prefix}${id}.${sig}`);
}

/** A clock the tests move by hand (sessions never wait for real time). */
export function manualClock(start = Date.UTC(2030, 0, 1)): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
