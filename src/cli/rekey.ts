/**
 * `sealed-session rekey`: re-seals every session under the primary encryption key.
 *
 * The walk goes page by page (one `SecureStore.rekey` call per page, resumed from the page's
 * cursor), so between pages this command can report progress, print the cursor to resume from,
 * stop cleanly on Ctrl-C and honour `--max-rate`. A run stopped mid-page resumes from that page's
 * start: re-visiting is harmless (those sessions are already current).
 */
import { type Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import type { RekeyProgress } from '../internal.js';
import type { SecureStore } from '../internal.js';
import type { RecordStore } from '../internal.js';
import { sleep } from '../internal.js';
import { CliExit, type CliIo, Output, UsageError, formatDuration } from './io.js';
import { type StoreOptions, addStoreOptions, intArg, openStore } from './options.js';

interface RekeyCliOptions extends StoreOptions {
  cursor?: string;
  batchSize?: string;
  concurrency?: string;
  maxRate?: string;
  fromPlaintext?: boolean;
  progress?: boolean;
  count?: boolean;
}

/** Counts what the walk will visit (the backend's live records), for the bar's total and ETA. */
async function countRecords(backend: RecordStore, signal: AbortSignal | undefined): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    if (signal?.aborted === true) return n;
    const page = await backend.listActive(cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor });
    n += page.ids.length;
    cursor = page.cursor;
  } while (cursor !== undefined);
  return n;
}

export function registerRekeyCommand(program: Command, io: CliIo): void {
  addStoreOptions(
    program
      .command('rekey')
      .description(
        're-seal every session under the primary encryption key, keeping each session\'s expiry. Progress bar on a terminal, plain lines otherwise; Ctrl-C stops cleanly and prints the --cursor to resume from',
      )
      .option('--cursor <cursor>', 'resume an interrupted run from the cursor it printed')
      .option('--batch-size <n>', 'sessions listed per page (1..1000, default 100)')
      .option('--concurrency <n>', 'sessions re-sealed at once (1..64, default 16)')
      .option('--max-rate <n>', 'at most <n> sessions per second (spares a busy database)')
      .option('--from-plaintext', 'MIGRATION: also seal plaintext sessions written before encryption was turned on')
      .addOption(new Option('--no-progress', 'plain progress lines even on a terminal'))
      .addOption(new Option('--no-count', 'skip the counting pass (no total or ETA)')),
  ).action(async (opts: RekeyCliOptions) => {
    const out = new Output(io, opts.json === true);
    const batchSize = intArg(opts.batchSize, 1, 1000, '--batch-size') ?? 100;
    const concurrency = intArg(opts.concurrency, 1, 64, '--concurrency') ?? 16;
    const maxRate = intArg(opts.maxRate, 1, 1_000_000, '--max-rate');
    if (opts.cursor !== undefined && opts.cursor === '') throw new UsageError('--cursor needs the value printed by the interrupted run');
    const created = await openStore(opts, io, opts.fromPlaintext === true ? { unsafeAcceptPlaintext: true } : {});
    try {
      await run(created.store, created.backend, { ...opts, batchSize, concurrency, maxRate }, out, io);
    } finally {
      await created.close();
    }
  });
}

async function run(
  store: SecureStore,
  backend: RecordStore,
  opts: Omit<RekeyCliOptions, 'batchSize' | 'concurrency' | 'maxRate'> & { batchSize: number; concurrency: number; maxRate: number | undefined },
  out: Output,
  io: CliIo,
): Promise<void> {
  const clock = () => Date.now();
  const signal = io.signal;
  const primary = store.keyring.primary('encrypt').kid;
  const total = opts.count === false ? undefined : await countRecords(backend, signal);
  const resumed = opts.cursor !== undefined;
  out.note(
    `rekey: re-sealing under encrypt key ${primary}${total === undefined ? '' : `; ${total} record(s) in the store`}${resumed ? ' (resuming: the total counts the whole store)' : ''}`,
  );
  const totals: RekeyProgress = { scanned: 0, resealed: 0, current: 0, failed: 0, skipped: 0 };
  const started = clock();
  const useBar = io.isTTY && opts.progress !== false && io.progressStream !== undefined;
  const bar = useBar
    ? new cliProgress.SingleBar(
        {
          format: 'rekey |{bar}| {value}/{total} sessions | {rate}/s | ETA {eta_formatted} | re-sealed {resealed}, failed {failed}',
          stream: io.progressStream!,
          hideCursor: true,
          etaBuffer: 20,
          fps: 10,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(Math.max(total ?? 0, 1), 0, { rate: '0', resealed: 0, failed: 0 });
  const rate = () => {
    const s = (clock() - started) / 1000;
    return s > 0 ? totals.scanned / s : 0;
  };

  let cursor = opts.cursor;
  let done = false;
  let interrupted = false;
  for (;;) {
    if (signal?.aborted === true) {
      interrupted = true;
      break;
    }
    // One page per call: the page's own controller stops the walk after onProgress; Ctrl-C stops it mid-page.
    const page = new AbortController();
    const forward = () => page.abort();
    signal?.addEventListener('abort', forward, { once: true });
    let pageDone = false;
    const result = await store
      .rekey({
        batchSize: opts.batchSize,
        concurrency: opts.concurrency,
        signal: page.signal,
        ...(cursor === undefined ? {} : { cursor }),
        onProgress: () => {
          pageDone = true;
          page.abort();
        },
      })
      .finally(() => signal?.removeEventListener('abort', forward));
    for (const k of ['scanned', 'resealed', 'current', 'failed', 'skipped'] as const) totals[k] += result[k];
    if (result.done) {
      done = true;
      break;
    }
    cursor = result.cursor;
    if (!pageDone) {
      interrupted = true;
      break;
    }
    const r = rate();
    if (bar !== undefined) {
      if (total !== undefined && totals.scanned > total) bar.setTotal(totals.scanned);
      bar.update(totals.scanned, { rate: r.toFixed(0), resealed: totals.resealed, failed: totals.failed });
    } else {
      const eta = total !== undefined && r > 0 && !resumed ? ` ETA ${formatDuration(((total - totals.scanned) / r) * 1000)}` : '';
      out.note(
        `rekey: ${totals.scanned}${total === undefined ? '' : `/${total}`} scanned (${totals.resealed} re-sealed, ${totals.current} current, ${totals.failed} failed, ${totals.skipped} skipped) ${r.toFixed(0)}/s${eta} cursor=${cursor ?? ''}`,
      );
    }
    if (opts.maxRate !== undefined) {
      const due = started + (totals.scanned / opts.maxRate) * 1000;
      if (due > clock()) await sleep(due - clock(), signal);
    }
  }
  if (bar !== undefined) {
    bar.update(totals.scanned, { rate: rate().toFixed(0), resealed: totals.resealed, failed: totals.failed });
    bar.stop();
  }
  const elapsedMs = clock() - started;
  const summary = `${totals.scanned} scanned, ${totals.resealed} re-sealed, ${totals.current} already current, ${totals.failed} failed, ${totals.skipped} skipped in ${(elapsedMs / 1000).toFixed(1)} s (${rate().toFixed(0)}/s)`;
  if (interrupted) {
    out.line(`rekey interrupted: ${summary}.`);
    if (cursor === undefined) out.line('Nothing to resume from: run the same command again (it starts over; sessions already re-sealed are skipped as current).');
    else {
      out.line(`Resume with the same options plus:  --cursor ${cursor}`);
      out.line(`cursor: ${cursor}`);
    }
    out.result({ ok: false, done: false, interrupted: true, ...totals, elapsedMs, ...(cursor === undefined ? {} : { cursor }) });
    throw new CliExit(1); // reported above (and as the --json document)
  }
  const usage = await store.keyUsage();
  out.line(`rekey ${done ? 'complete' : 'stopped'}: ${summary}.`);
  out.line(`Sessions per encryption key now: ${Object.entries(usage).map(([k, n]) => `${k}=${n}`).join(', ') || 'none'}`);
  if (totals.failed > 0) out.line(`${totals.failed} session(s) could not be opened or re-sealed (integrity, unknown key, or plaintext without --from-plaintext): see \`sealed-session usage\`.`);
  out.result({ ok: totals.failed === 0, done, ...totals, elapsedMs, primary, usage });
  if (totals.failed > 0) {
    out.note(`error: ${totals.failed} session(s) failed to re-seal`);
    throw new CliExit(1); // the --json document already says ok: false
  }
}
