/**
 * How long a key rotation takes to reach ANOTHER process through a followed keyset file
 * (docs/key-rotation.md, "Keyset files"). A follower child process opens the keyset with
 * `Keyring.fromFile` (following it, as every application does by default) and prints the time at
 * which each new primary `encrypt` kid arrived; this process rotates and measures from the moment
 * the new keyset is in place to that arrival. The keyset is laid out as a Kubernetes secret volume
 * (`keys.json -> ..data/keys.json`, `..data -> vN/`) and changed two ways: a CLI-style transaction
 * (written through the link, atomic rename of the target) and a secret-manager style `..data` swap.
 *
 * Part of `npm run bench` (`--only rotation`); alone: `node --import tsx bench/rotation.ts`.
 * Follower entry: `node --import tsx bench/rotation.ts follow <path> <intervalMs> [passphrase]`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keyring, passphraseProvider } from '../src/index.js';
import type { Ctx } from './context.js';
import type { OneShot } from './measure.js';

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), '..');
const PASSPHRASE = 'bench passphrase, not a secret';

interface Follower {
  child: ChildProcess;
  /** Resolves with the epoch ms at which the follower held `kid` as its primary encrypt key. */
  arrival(kid: string): Promise<number>;
}

function startFollower(file: string, intervalMs: number, wrapped: boolean): Promise<Follower> {
  const child = spawn(process.execPath, ['--import', 'tsx', self, 'follow', file, String(intervalMs), ...(wrapped ? ['wrapped'] : [])], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  let buffer = '';
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buffer += d;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const { kid, at } = JSON.parse(line) as { kid: string; at: number };
        seen.set(kid, at);
        waiting.get(kid)?.(at);
        if (at === 0) resolve(follower);
      }
    });
    const follower: Follower = {
      child,
      arrival: (kid) => (seen.has(kid) ? Promise.resolve(seen.get(kid)!) : new Promise((r) => waiting.set(kid, r))),
    };
  });
}

function volume(text: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sss-bench-rotation-'));
  let n = 1;
  mkdirSync(path.join(dir, 'v1'));
  writeFileSync(path.join(dir, 'v1', 'keys.json'), text, { mode: 0o600 });
  symlinkSync('v1', path.join(dir, '..data'));
  symlinkSync('..data/keys.json', path.join(dir, 'keys.json'));
  return {
    dir,
    file: path.join(dir, 'keys.json'),
    swap(next: string) {
      const v = `v${++n}`;
      mkdirSync(path.join(dir, v));
      writeFileSync(path.join(dir, v, 'keys.json'), next, { mode: 0o600 });
      symlinkSync(v, path.join(dir, '..data_tmp'));
      renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    },
  };
}

interface Case {
  how: 'transaction' | 'swap';
  intervalMs: number;
  wrapped: boolean;
}

/** Propagation times (ms) of `rotations` rotations in one case. */
async function measureCase(c: Case, rotations: number): Promise<number[]> {
  const provider = c.wrapped ? passphraseProvider(PASSPHRASE) : undefined;
  const protection = provider === undefined ? { insecureCleartext: true as const } : { provider };
  const first = Keyring.generate();
  const encode = async (ring: Keyring) =>
    provider === undefined ? `${JSON.stringify(ring.insecureExportCleartextJwks())}\n` : `${JSON.stringify(await ring.exportWrapped(provider))}\n`;
  const vol = volume(await encode(first));
  const follower = await startFollower(vol.file, c.intervalMs, c.wrapped);
  const writer = await Keyring.fromFile(vol.file, { ...protection, follow: false });
  const memory = Keyring.insecureFromCleartextJwks(first.insecureExportCleartextJwks());
  const times: number[] = [];
  try {
    for (let i = 0; i < rotations; i++) {
      // Rotations land at a random phase of the follower's poll, as they would in production.
      await new Promise((r) => setTimeout(r, Math.random() * c.intervalMs));
      let kid: string;
      let placed: number;
      if (c.how === 'transaction') {
        kid = (await writer.transaction((m) => m.rotate('encrypt'))).kid;
        placed = Date.now();
      } else {
        kid = memory.rotate('encrypt').kid;
        const text = await encode(memory);
        vol.swap(text);
        placed = Date.now();
      }
      times.push((await follower.arrival(kid)) - placed);
    }
  } finally {
    writer.close();
    follower.child.kill();
    rmSync(vol.dir, { recursive: true, force: true });
  }
  return times;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runRotation(ctx: Ctx): Promise<void> {
  const rotations = ctx.options.smoke ? 2 : ctx.options.quick ? 5 : 12;
  const cases: Case[] = [
    { how: 'transaction', intervalMs: 1000, wrapped: false },
    { how: 'swap', intervalMs: 1000, wrapped: false },
    { how: 'transaction', intervalMs: 1000, wrapped: true },
    { how: 'transaction', intervalMs: 100, wrapped: false },
  ];
  for (const c of ctx.options.smoke ? cases.slice(3) : cases) {
    const times = await measureCase(c, rotations);
    const how = c.how === 'transaction' ? 'keys rotate (write through the link)' : '..data symlink swap';
    const shot: OneShot = {
      id: `rotation/${c.how}/${c.intervalMs}${c.wrapped ? '/wrapped' : ''}`,
      group: 'rotation',
      label: `rotation reaches another process: ${how}, poll ${c.intervalMs} ms${c.wrapped ? ', passphrase-wrapped' : ', cleartext'} keyset`,
      backend: 'keyset file',
      sessions: times.length,
      wallMs: median(times),
      cpuMs: 0,
      perSec: 0,
      result: Math.max(...times),
      note: `wall ms = median propagation over ${times.length} rotations; result = the slowest (ms)`,
    };
    ctx.oneShots.push(shot);
    ctx.log(`  ${shot.label}: median ${shot.wallMs.toFixed(0)} ms, max ${shot.result.toFixed(0)} ms (${times.length} rotations)`);
  }
}

// Follower entry: prints `{ kid, at }` for the initial primary (at 0) and each new one.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === self && process.argv[2] === 'follow') {
  const [, , , file, interval, wrapped] = process.argv;
  const protection = wrapped === 'wrapped' ? { provider: passphraseProvider(PASSPHRASE) } : { insecureCleartext: true as const };
  const ring = await Keyring.fromFile(file!, { ...protection, follow: { intervalMs: Number(interval) } });
  let last = ring.primary('encrypt').kid;
  process.stdout.write(`${JSON.stringify({ kid: last, at: 0 })}\n`);
  ring.onChange(() => {
    const kid = ring.primary('encrypt').kid;
    if (kid !== last) process.stdout.write(`${JSON.stringify({ kid, at: Date.now() })}\n`);
    last = kid;
  });
  setInterval(() => {}, 60_000); // the keyring's timer is unref'd: keep the follower alive
} else if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === self) {
  const { parseArgs } = await import('./context.js');
  const options = parseArgs(process.argv.slice(2));
  const ctx = { options, oneShots: [] as OneShot[], log: (l: string) => console.error(l) } as unknown as Ctx;
  await runRotation(ctx);
  process.stdout.write(`${JSON.stringify(ctx.oneShots, null, 2)}\n`);
}
