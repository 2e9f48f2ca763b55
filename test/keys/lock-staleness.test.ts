/**
 * A keyset transaction that runs longer than `lock.staleMs` must not lose another process's key.
 * Before: the lock was never refreshed, so a second process broke it as stale after `staleMs`,
 * rotated and wrote; the first then wrote over it and that rotation's key was silently gone.
 * Now the holder refreshes its lock while it runs, and checks before writing that the lock is still
 * its own and the file still holds what it read; a lost race is `key_state`, never a lost key.
 * Two real processes each time.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyring, passphraseProvider } from 'sealed-session-store';

const run = promisify(execFile);
const PASS = 'correct horse battery staple';
const provider = () => passphraseProvider(PASS, { logN: 10, unsafeLowCost: true });
const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
const slowChild = join(process.cwd(), 'test/keys/fixtures/slow-rotate-child.ts');
const rotateChild = join(process.cwd(), 'test/keys/fixtures/rotate-child.ts');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function keysetFile(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sss-lock-'));
  dirs.push(dir);
  const path = join(dir, 'k.json');
  await Keyring.fromFile(path, { provider: provider(), createIfMissing: true });
  return path;
}

/** Resolves once `path` exists (the slow child is inside its transaction, holding the lock). */
async function appeared(path: string): Promise<void> {
  for (let i = 0; i < 600 && !existsSync(path); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(existsSync(path)).toBe(true);
}

async function encryptKids(path: string): Promise<Set<string>> {
  const ring = await Keyring.fromFile(path, { provider: provider() });
  return new Set(ring.list().filter((k) => k.purpose === 'encrypt').map((k) => k.kid));
}

const STALE_MS = 300;

describe('keyset lock staleness', () => {
  it('a transaction held past staleMs keeps its lock (refreshed): the other rotation waits, and both keys are kept', async () => {
    const path = await keysetFile();
    // The other process starts first and rotates as soon as the slow one holds the lock.
    const pending = run(tsx, [rotateChild, path, '1', PASS, String(STALE_MS), `${path}.started`]);
    const slow = run(tsx, [slowChild, path, PASS, String(STALE_MS), String(STALE_MS * 5), 'wait']);
    await appeared(`${path}.started`);
    const other = await pending;
    const slowOut = JSON.parse((await slow).stdout) as { kid?: string; code?: string };
    const otherKids = JSON.parse(other.stdout) as string[];
    expect(slowOut.code).toBeUndefined();
    const kids = await encryptKids(path);
    expect(kids.has(slowOut.kid!)).toBe(true);
    expect(kids.has(otherKids[0]!)).toBe(true);
    expect(kids.size).toBe(3);
  }, 60_000);

  it('a holder whose lock was broken anyway (its process stalled) writes nothing and fails with key_state; the other key is kept', async () => {
    const path = await keysetFile();
    // The other process starts first and rotates as soon as the slow one holds the lock.
    const pending = run(tsx, [rotateChild, path, '1', PASS, String(STALE_MS), `${path}.started`]);
    const slow = run(tsx, [slowChild, path, PASS, String(STALE_MS), String(STALE_MS * 10), 'block']);
    await appeared(`${path}.started`);
    const other = await pending;
    const otherKids = JSON.parse(other.stdout) as string[];
    const slowOut = JSON.parse((await slow).stdout) as { kid?: string; code?: string };
    expect(slowOut).toEqual({ code: 'key_state' });
    const kids = await encryptKids(path);
    expect(kids.has(otherKids[0]!)).toBe(true);
    expect(kids.size).toBe(2);
  }, 60_000);

  it('compare-before-write: a file changed under the lock (a writer that ignored it) is not overwritten', async () => {
    const path = await keysetFile();
    const ring = await Keyring.fromFile(path, { provider: provider() });
    const intruder = await Keyring.fromFile(path, { provider: provider(), lock: { timeoutMs: 0 } });
    let theirs: string | undefined;
    const err = await ring
      .transaction(async (m) => {
        // Written behind the lock's back: the source itself, bypassing the lock file.
        const doc = await (await import('../../src/keys/wrapped.js')).encodeKeyset(
          (() => {
            const copy = Keyring.insecureFromCleartextJwks(intruder.insecureExportCleartextJwks());
            theirs = copy.rotate('encrypt').kid;
            return copy.insecureExportCleartextJwks();
          })(),
          { provider: provider() },
        );
        (await import('node:fs')).writeFileSync(path, doc);
        return m.rotate('encrypt');
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ code: 'key_state' });
    expect((await encryptKids(path)).has(theirs!)).toBe(true);
  });
});
