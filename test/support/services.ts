/**
 * Service detection for tests that need Redis or PostgreSQL. On a machine without the service the
 * tests skip with a printed reason; under REQUIRE_SERVICES=1 (set by .ci/run) they fail instead,
 * so CI can never pass by silently skipping them.
 */
import net from 'node:net';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REQUIRE_SERVICES = process.env.REQUIRE_SERVICES === '1';

/** Resolves `undefined` when something accepts a TCP connection at `url`, else the reason. */
export function probe(url: string, defaultPort: number, timeoutMs = 1500): Promise<string | undefined> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(u.port || defaultPort);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err) => done(`${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
  });
}

/**
 * Resolves `undefined` when the service answers, or the reason to skip. Throws under
 * REQUIRE_SERVICES=1 when it does not answer.
 */
export async function serviceSkipReason(name: 'redis' | 'postgres'): Promise<string | undefined> {
  const reason = name === 'redis' ? await probe(REDIS_URL, 6379) : await probe(DATABASE_URL, 5432);
  if (reason === undefined) return undefined;
  const message = `${name} unavailable (${reason}); set ${name === 'redis' ? 'REDIS_URL' : 'DATABASE_URL'} to run these tests`;
  if (REQUIRE_SERVICES) throw new Error(`REQUIRE_SERVICES=1 but ${message}`);
  console.warn(`[skip] ${message}`);
  return message;
}

/** A short unique token for key prefixes and schema names, so parallel runs never collide. */
export function uniqueSuffix(): string {
  return `${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
