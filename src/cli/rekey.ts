/**
 * `sealed-session rekey`: re-seals every session, and every MCP event, under the primary
 * encryption key. It walks the store it was pointed at and every place the namespace registry
 * records for this keyset on that server (src/admin/walk.ts), one page at a time, so between pages
 * it can report progress, save where it is, stop cleanly on Ctrl-C and honour `--max-rate`.
 *
 * Output fit for logs (threat: session ids in logs, which carry keyed hashes only): without a
 * terminal, progress is one short line every `--progress-interval` seconds, never an id or a
 * backend cursor; an interrupted run saves its walk in a 0600 state file (rekey-state.ts) and
 * prints a short handle to resume with. A record that does not open is reported once per place and
 * reason (a wrong keyset or namespace fails every record the same way), not once per record.
 */
import { type Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import type { RekeyProgress, WalkPlan, WalkTarget } from '../internal.js';
import { describeTarget, isNamespaceRecordId, planWalk, sleep, usageOf } from '../internal.js';
import { CliExit, type CliIo, Output, UsageError, formatDuration } from './io.js';
import { type StoreOptions, addStoreOptions, intArg, openStore } from './options.js';
import { type RekeyState, loadState, newHandle, removeState, saveState, stateDir } from './rekey-state.js';

interface RekeyCliOptions extends StoreOptions {
  cursor?: string;
  stateDir?: string;
  batchSize?: string;
  concurrency?: string;
  maxRate?: string;
  progressInterval?: string;
  fromPlaintext?: boolean;
  progress?: boolean;
  count?: boolean;
}

type Settings = Omit<RekeyCliOptions, 'batchSize' | 'concurrency' | 'maxRate' | 'progressInterval'> & {
  batchSize: number;
  concurrency: number;
  maxRate: number | undefined;
  intervalMs: number;
};

const FAILURE_HINTS: Record<string, string> = {
  unknown_key: 'sealed under a key this keyset does not hold (a different keyset, or the key was destroyed)',
  integrity: 'they do not authenticate (another namespace, another keyset with the same kid, or damaged)',
  invalid_input: 'plaintext or malformed records (plaintext sessions need --from-plaintext)',
  conflict: 'updated by the application on every attempt; run again',
};

/** Counts what the walk will visit (live records, registry records aside), for the total and ETA. */
async function countRecords(target: WalkTarget, signal: AbortSignal | undefined): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    if (signal?.aborted === true) return n;
    const page = await target.sealed.listActive(cursor === undefined ? { limit: 1000 } : { limit: 1000, cursor });
    n += page.ids.filter((id) => !isNamespaceRecordId(id)).length;
    cursor = page.cursor;
  } while (cursor !== undefined);
  return n;
}

export function registerRekeyCommand(program: Command, io: CliIo): void {
  addStoreOptions(
    program
      .command('rekey')
      .description(
        "re-seal every session and MCP event under the primary encryption key, keeping each one's expiry, in every namespace recorded for this keyset on the store's server. Progress bar on a terminal, a short line every --progress-interval seconds otherwise; Ctrl-C stops cleanly and prints a short handle to resume with",
      )
      .option('--cursor <handle>', 'resume an interrupted run from the handle it printed')
      .option('--state-dir <dir>', 'where an interrupted run saves its walk (default: $SSS_REKEY_STATE_DIR or a per-user temporary directory)')
      .option('--batch-size <n>', 'records listed per page (1..1000, default 100)')
      .option('--concurrency <n>', 'records re-sealed at once (1..64, default 16)')
      .option('--max-rate <n>', 'at most <n> records per second (spares a busy database)')
      .option('--progress-interval <s>', 'seconds between progress lines without a terminal (1..3600, default 10)')
      .option('--from-plaintext', 'MIGRATION: also seal plaintext sessions written before encryption was turned on')
      .addOption(new Option('--no-progress', 'plain progress lines even on a terminal'))
      .addOption(new Option('--no-count', 'skip the counting pass (no total or ETA)')),
  ).action(async (opts: RekeyCliOptions) => {
    const out = new Output(io, opts.json === true);
    const settings: Settings = {
      ...opts,
      batchSize: intArg(opts.batchSize, 1, 1000, '--batch-size') ?? 100,
      concurrency: intArg(opts.concurrency, 1, 64, '--concurrency') ?? 16,
      maxRate: intArg(opts.maxRate, 1, 1_000_000, '--max-rate'),
      intervalMs: (intArg(opts.progressInterval, 1, 3600, '--progress-interval') ?? 10) * 1000,
    };
    if (opts.cursor !== undefined && opts.cursor === '') throw new UsageError('--cursor needs the handle printed by the interrupted run');
    const dir = stateDir(io, opts.stateDir);
    const resumedState = opts.cursor === undefined ? undefined : await loadState(dir, opts.cursor);
    const created = await openStore(opts, io, opts.fromPlaintext === true ? { unsafeAcceptPlaintext: true } : {});
    try {
      const plan = await planWalk(created.backend, {
        keyring: created.keyring,
        namespace: created.config.namespace,
        ...(opts.fromPlaintext === true ? { unsafeAcceptPlaintext: true } : {}),
      });
      await run(created.keyring.primary('encrypt').kid, plan, settings, { dir, resumed: resumedState }, out, io);
    } finally {
      await created.close();
    }
  });
}

async function run(primary: string, plan: WalkPlan, opts: Settings, saved: { dir: string; resumed: RekeyState | undefined }, out: Output, io: CliIo): Promise<void> {
  const clock = io.now ?? Date.now;
  const signal = io.signal;
  const places = plan.targets.map((t) => t.label);
  for (const e of plan.unreachable) out.note(`rekey: cannot reach ${describeTarget(e.kind, e.namespace, e)} from this connection; run again pointed at it`);
  for (const e of plan.shared) out.note(`rekey: ${describeTarget(e.kind, e.namespace, e)} shares a place walked under another namespace; run again with --namespace ${e.namespace} to re-seal it`);
  let state: RekeyState;
  if (saved.resumed !== undefined) {
    state = saved.resumed;
    if (state.places.join('\n') !== places.join('\n')) throw new UsageError(`the saved walk "${state.handle}" was over other places (${state.places.join('; ')}): run with the same store options, or start over without --cursor`);
  } else {
    let total: number | undefined;
    if (opts.count !== false) {
      total = 0;
      for (const t of plan.targets) total += await countRecords(t, signal);
    }
    state = { v: 1, handle: newHandle(), places, index: 0, totals: { scanned: 0, resealed: 0, current: 0, failed: 0, skipped: 0 }, ...(total === undefined ? {} : { total }), startedAt: clock() };
  }
  const resumed = saved.resumed !== undefined;
  const total = state.total;
  const totals = state.totals;
  const before = totals.scanned;
  out.note(
    `rekey: re-sealing under encrypt key ${primary} in ${places.length} place(s)${total === undefined ? '' : `; ${total} record(s)`}${resumed ? `; resuming at ${before}` : ''}`,
  );
  const started = clock();
  const useBar = io.isTTY && opts.progress !== false && io.progressStream !== undefined;
  const bar = useBar
    ? new cliProgress.SingleBar(
        { format: 'rekey |{bar}| {value}/{total} | {rate}/s | ETA {eta_formatted} | re-sealed {resealed}, failed {failed}', stream: io.progressStream!, hideCursor: true, etaBuffer: 20, fps: 10 },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(Math.max(total ?? 0, 1), totals.scanned, { rate: '0', resealed: totals.resealed, failed: totals.failed });
  const rate = () => {
    const s = (clock() - started) / 1000;
    return s > 0 ? (totals.scanned - before) / s : 0;
  };
  let lastLine = started;
  const reported = new Set<string>();
  let done = false;
  let interrupted = false;
  walk: while (state.index < plan.targets.length) {
    const target = plan.targets[state.index]!;
    for (;;) {
      if (signal?.aborted === true) {
        interrupted = true;
        break walk;
      }
      // One page per call: the page's own controller stops the walk after onProgress; Ctrl-C stops it mid-page.
      const page = new AbortController();
      const forward = () => page.abort();
      signal?.addEventListener('abort', forward, { once: true });
      let pageDone = false;
      const result = await target.sealed
        .rekey({
          batchSize: opts.batchSize,
          concurrency: opts.concurrency,
          signal: page.signal,
          ...(state.cursor === undefined ? {} : { cursor: state.cursor }),
          onProgress: () => {
            pageDone = true;
            page.abort();
          },
          onFailed: (code) => {
            const key = `${state.index}:${code}`;
            if (reported.has(key)) return;
            reported.add(key);
            out.note(`rekey: records in ${target.label} do not open (${code}): ${FAILURE_HINTS[code] ?? 'see `sealed-session usage`'}. Reported once; the summary counts them.`);
          },
        })
        .finally(() => signal?.removeEventListener('abort', forward));
      for (const k of ['scanned', 'resealed', 'current', 'failed', 'skipped'] as const) totals[k] += result[k];
      if (result.done) {
        state.index++;
        delete state.cursor;
        break;
      }
      if (result.cursor === undefined) delete state.cursor;
      else state.cursor = result.cursor;
      if (!pageDone) {
        interrupted = true;
        break walk;
      }
      const now = clock();
      if (bar !== undefined) {
        if (total !== undefined && totals.scanned > total) bar.setTotal(totals.scanned);
        bar.update(totals.scanned, { rate: rate().toFixed(0), resealed: totals.resealed, failed: totals.failed });
      } else if (now - lastLine >= opts.intervalMs) {
        lastLine = now;
        out.note(progressLine(totals, total, rate()));
      }
      if (opts.maxRate !== undefined) {
        const due = started + ((totals.scanned - before) / opts.maxRate) * 1000;
        if (due > clock()) await sleep(due - clock(), signal);
      }
    }
  }
  done = !interrupted;
  if (bar !== undefined) {
    bar.update(totals.scanned, { rate: rate().toFixed(0), resealed: totals.resealed, failed: totals.failed });
    bar.stop();
  }
  const elapsedMs = clock() - started;
  const summary = `${totals.scanned}${total === undefined ? '' : `/${total}`} scanned, ${totals.resealed} re-sealed, ${totals.current} already current, ${totals.failed} failed, ${totals.skipped} skipped in ${(elapsedMs / 1000).toFixed(1)} s (${rate().toFixed(0)}/s)`;
  if (interrupted) {
    await saveState(saved.dir, state);
    out.line(`rekey interrupted: ${summary}.`);
    out.line(`Resume with the same options plus:  --cursor ${state.handle}`);
    out.result({ ok: false, done: false, interrupted: true, ...totals, ...(total === undefined ? {} : { total }), elapsedMs, cursor: state.handle });
    throw new CliExit(1); // reported above (and as the --json document)
  }
  await removeState(saved.dir, state.handle);
  const usage: Record<string, number> = {};
  for (const u of await usageOf(plan)) for (const [kid, n] of Object.entries(u.usage)) usage[kid] = (usage[kid] ?? 0) + n;
  out.line(`rekey complete: ${summary}.`);
  out.line(`Records per encryption key now: ${Object.entries(usage).map(([k, n]) => `${k}=${n}`).join(', ') || 'none'}`);
  if (totals.failed > 0) out.line(`${totals.failed} record(s) could not be opened or re-sealed (see the reasons above, and \`sealed-session usage\`).`);
  out.result({ ok: totals.failed === 0, done, ...totals, ...(total === undefined ? {} : { total }), elapsedMs, primary, usage, places });
  if (totals.failed > 0) {
    out.note(`error: ${totals.failed} record(s) failed to re-seal`);
    throw new CliExit(1); // the --json document already says ok: false
  }
}

/** One short progress line: counts, rate and ETA; never an id or a cursor. */
function progressLine(totals: RekeyProgress, total: number | undefined, rate: number): string {
  const pct = total !== undefined && total > 0 ? ` (${Math.min(100, Math.floor((totals.scanned / total) * 100))}%)` : '';
  const eta = total !== undefined && rate > 0 && total > totals.scanned ? `, ETA ${formatDuration(((total - totals.scanned) / rate) * 1000)}` : '';
  return `rekey: ${totals.scanned}${total === undefined ? '' : `/${total}`}${pct} re-sealed ${totals.resealed}, failed ${totals.failed}, ${rate.toFixed(0)}/s${eta}`;
}
