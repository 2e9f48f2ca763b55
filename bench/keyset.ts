/**
 * How long a rotation takes to reach another keyring through a keyset kept in the store
 * (`Keyring.fromStore`, docs/key-rotation-store.md), per backend and poll interval.
 *
 * Two keyrings on one store: A rotates the encrypt key (a compare-and-swap write of the wrapped
 * keyset), B watches (polls the version every `intervalMs`, then reads and unwraps). Timed: from
 * A's write resolving to B's change listener firing. Before each rotation a random pause of up to
 * one interval puts the write at a random phase of B's poll, so the figures cover the whole range
 * (expected: about half the interval on average, at most one interval plus one read). Both keyrings
 * live in this process (one client): what the figure leaves out of a second process is only its own
 * network hop. The passphrase provider runs at a low scrypt cost (logN 10): it derives its key once
 * per salt and caches it, so the cost would only move the first load, not a pickup.
 */
import { Keyring, passphraseProvider } from '../src/index.js';
import { type KeysetSlotStore, hasKeysetSlot } from '../src/kit.js';
import { BACKENDS, makeBackend } from './backends.js';
import type { Ctx } from './context.js';

const PASS = 'bench keyset passphrase, not a secret';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function pickups(store: KeysetSlotStore, intervalMs: number, rotations: number): Promise<number[]> {
  const provider = passphraseProvider(PASS, { logN: 10, unsafeLowCost: true });
  const a = await Keyring.fromStore(store, { provider, createIfMissing: true });
  const b = await Keyring.fromStore(store, { provider });
  const errors: unknown[] = [];
  const stop = b.watch({ intervalMs, onError: (e) => errors.push(e) });
  const times: number[] = [];
  try {
    for (let i = 0; i < rotations; i++) {
      await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
      const seen = new Promise<number>((resolve) => {
        const off = b.onChange(() => {
          off();
          resolve(performance.now());
        });
      });
      await a.transaction((m) => m.rotate('encrypt'));
      const written = performance.now();
      times.push((await seen) - written);
    }
  } finally {
    stop();
  }
  if (errors.length > 0) throw new Error(`keyset watch failed: ${String(errors[0])}`);
  return times;
}

export async function runKeyset(ctx: Ctx): Promise<void> {
  const intervals = ctx.options.quick ? [50] : [50, 2000];
  const rotations = ctx.options.smoke ? 3 : ctx.options.quick ? 6 : 10;
  for (const name of BACKENDS) {
    for (const intervalMs of intervals) {
      const store = await makeBackend(ctx, name, Date.now);
      if (typeof store === 'string') {
        ctx.notes.push(`keyset pickup (${name}): skipped, ${store}`);
        break;
      }
      try {
        if (!hasKeysetSlot(store)) throw new Error(`${name} has no keyset slot`);
        const times = (await pickups(store, intervalMs, rotations)).sort((x, y) => x - y);
        const line = `keyset pickup through the store (${name}, poll ${intervalMs} ms, ${times.length} rotations): median ${percentile(times, 0.5).toFixed(0)} ms, max ${times[times.length - 1]!.toFixed(0)} ms (bound: poll interval + one read)`;
        ctx.notes.push(line);
        ctx.log(`[bench] ${line}`);
        await store.deleteKeysetText();
      } finally {
        await store.close();
      }
    }
  }
}
