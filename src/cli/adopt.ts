/**
 * `sealed-session adopt connect-redis`: the bulk pass of a connect-redis adoption
 * (docs/adopt-connect-redis.md). Walks every `<legacy prefix>*` key, seals each session that the
 * adoption window admits into the store the application uses, counts what it cannot open, and when
 * the walk is over closes the window: from then on no plaintext session is accepted.
 *
 * Progress: one short line every few seconds, counts only (never a session id, so the output can go
 * to a CI log); Ctrl-C stops cleanly and prints the short cursor to resume from.
 */
import type { Command } from 'commander';
import { ConnectRedisAdopter, type AdoptProgress } from '../adopt/connect-redis.js';
import { importPeer } from '../util/peer.js';
import { CliExit, type CliIo, Output, UsageError } from './io.js';
import { type StoreOptions, addStoreOptions, intArg, openStore } from './options.js';

interface AdoptCliOptions extends StoreOptions {
  legacyUrl?: string;
  legacyPrefix?: string;
  cursor?: string;
  batchSize?: string;
  progressEvery?: string;
}

/** How often a progress line is printed (ms). */
const DEFAULT_PROGRESS_MS = 2000;

export function registerAdoptCommand(program: Command, io: CliIo): void {
  const adopt = program.command('adopt').description('take over the sessions of the store this one replaces');
  addStoreOptions(
    adopt
      .command('connect-redis')
      .description(
        'seal every session connect-redis wrote (`<prefix><id>` JSON strings) into the store, keeping each one\'s remaining lifetime, then close the adoption window so no plaintext session is accepted any more. Run with the application\'s SSS_* settings (same keyset, namespace and SSS_ABSOLUTE_TTL_MS)',
      )
      .option('--legacy-url <url>', 'the Redis connect-redis used (default: the --redis / $SSS_URL server)')
      .option('--legacy-prefix <prefix>', 'connect-redis\'s prefix (default "sess:")')
      .option('--cursor <n>', 'resume an interrupted run from the cursor it printed')
      .option('--batch-size <n>', 'keys per SCAN step (1..10000, default 200)')
      .option('--progress-every <ms>', 'a progress line every <ms> (default 2000)'),
  ).action(async (opts: AdoptCliOptions) => {
    const out = new Output(io, opts.json === true);
    const batchSize = intArg(opts.batchSize, 1, 10_000, '--batch-size') ?? 200;
    const every = intArg(opts.progressEvery, 0, 3_600_000, '--progress-every') ?? DEFAULT_PROGRESS_MS;
    if (opts.cursor !== undefined && !/^\d{1,20}$/.test(opts.cursor)) throw new UsageError('--cursor takes the number printed by the interrupted run');
    const created = await openStore(opts, io);
    const legacyUrl = opts.legacyUrl ?? (created.config.adapter === 'redis' ? created.config.url : undefined);
    if (legacyUrl === undefined) {
      await created.close();
      throw new UsageError('--legacy-url: the store is not on Redis, so name the Redis connect-redis used');
    }
    const mod = await importPeer('ioredis', () => import('ioredis'), 'adopt connect-redis');
    const client = new mod.Redis(legacyUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    client.on('error', () => undefined); // surfaces as a typed error from the command that failed
    try {
      await client.connect();
      const adopter = new ConnectRedisAdopter(created.store, { client, ...(opts.legacyPrefix === undefined ? {} : { prefix: opts.legacyPrefix }) });
      await run(adopter, { batchSize, every, ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) }, out, io);
    } finally {
      client.disconnect();
      await created.close();
    }
  });
}

function counts(p: AdoptProgress): string {
  return `${p.scanned} scanned: ${p.adopted} adopted, ${p.present} already sealed, ${p.expired} expired, ${p.refused} refused, ${p.unreadable} unreadable`;
}

async function run(adopter: ConnectRedisAdopter, opts: { batchSize: number; every: number; cursor?: string }, out: Output, io: CliIo): Promise<void> {
  const clock = io.now ?? (() => Date.now());
  const started = clock();
  let lastLine = started;
  out.note(`adopt: sealing the sessions under "${adopter.prefix}"${opts.cursor === undefined ? '' : ` (resuming at cursor ${opts.cursor}; the counts are this run's)`}`);
  const result = await adopter.adoptAll({
    batchSize: opts.batchSize,
    ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }),
    ...(io.signal === undefined ? {} : { signal: io.signal }),
    onProgress: (p) => {
      const t = clock();
      if (t - lastLine < opts.every) return;
      lastLine = t;
      out.note(`adopt: ${counts(p)} (${((t - started) / 1000).toFixed(0)} s) cursor=${p.cursor}`);
    },
  });
  const elapsedMs = clock() - started;
  const { done, cursor, ...totals } = result;
  if (!done) {
    out.line(`adopt interrupted: ${counts(totals)}. The window stays open.`);
    out.line(`Resume with the same options plus:  --cursor ${cursor ?? '0'}`);
    out.result({ ok: false, done: false, interrupted: true, ...totals, cursor, elapsedMs });
    throw new CliExit(1);
  }
  out.line(`adopt complete: ${counts(totals)} in ${(elapsedMs / 1000).toFixed(1)} s. The adoption window is closed: no plaintext session is accepted from now on.`);
  if (totals.unreadable > 0) out.line(`${totals.unreadable} key(s) under "${adopter.prefix}" were not sessions this command could open (not a string, not JSON, no cookie); they were left in place.`);
  if (totals.refused > 0) out.line(`${totals.refused} key(s) were refused: written after the migration started (see the audit log, event "plaintext_refused"); they were deleted.`);
  out.result({ ok: true, done: true, ...totals, elapsedMs });
}
