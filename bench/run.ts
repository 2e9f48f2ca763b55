/**
 * `npm run bench [-- --quick | --smoke] [--no-services] [--out DIR] [--only SUITES]`
 *
 * Runs every suite in one process (floors, layers, tokens, peers, admin, rotation, keyset, express-user), prints the targets and
 * the 1 KB table, and writes `latest.json` + `latest.md` under `bench/results/` (or --out). Redis and
 * PostgreSQL rows are skipped with a note when the service does not answer; everything the run
 * creates on them is removed at the end, even after a failure.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAdmin } from './admin.js';
import { runExpressUser } from './express-user.js';
import { type Ctx, budgetFor, parseArgs } from './context.js';
import { runFloors } from './floors.js';
import { runKeyset } from './keyset.js';
import { runLayers } from './layers.js';
import { runPairs } from './pairs.js';
import { runPeers } from './peers.js';
import { runRotation } from './rotation.js';
import { type Machine, type RunDocument, markdown, printSummary } from './report.js';
import { connectServices } from './services.js';
import { SIZES, type SizeName, statesFor } from './states.js';
import { evaluateTargets } from './targets.js';
import { runTokens } from './tokens.js';

const SUITES: Array<[string, (ctx: Ctx) => Promise<void>]> = [
  ['floors', runFloors],
  ['tokens', runTokens],
  ['peers', runPeers],
  ['layers', runLayers],
  ['admin', runAdmin],
  ['rotation', runRotation],
  ['keyset', runKeyset],
  // The user-level comparison: express + express-session over HTTP, connect-redis vs ours (express-user.ts).
  ['express-user', (ctx) => runExpressUser(ctx)],
  // Last: the targets' ratios, each side measured in alternating slices (see pairs.ts).
  ['pairs', runPairs],
];

/**
 * The CPU features that move these results (read from /proc/cpuinfo where there is one): runs on
 * hosts whose model string is as generic as "Intel(R) Xeon(R) Processor" differ by up to 2x, and
 * AES / carry-less multiply / SHA extensions decide what the crypto rows cost.
 */
function cpuFeatures(): string {
  let flags: Set<string>;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
    flags = new Set(line.trim().split(/\s+/));
  } catch {
    return '';
  }
  const shown = ['aes', 'pclmulqdq', 'avx2', 'avx512f', 'vaes', 'vpclmulqdq', 'sha_ni'].filter((f) => flags.has(f));
  return shown.length === 0 ? '' : ` (${shown.join(' ')})`;
}

async function machine(ctx: Ctx, loadAtStart: number): Promise<Machine> {
  const out: Machine = {
    node: process.versions.node,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: `${os.cpus()[0]?.model.trim() ?? 'unknown'}${cpuFeatures()}`,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAvg: { start: loadAtStart, end: os.loadavg()[0]! },
  };
  const info = await ctx.services.redis?.info('server').catch(() => undefined);
  const rv = info?.match(/redis_version:(\S+)/)?.[1];
  if (rv !== undefined) out.redis = rv;
  const pv = await ctx.services.pg?.query<{ v: string }>('SHOW server_version').then((r) => r.rows[0]?.v).catch(() => undefined);
  if (pv !== undefined) out.postgres = pv.split(' ')[0]!;
  return out;
}

export async function main(argv: string[]): Promise<RunDocument> {
  const options = parseArgs(argv);
  const startedAt = new Date();
  const t0 = performance.now();
  const loadAtStart = os.loadavg()[0]!;
  const sizes: SizeName[] = options.quick ? ['1KB'] : (Object.keys(SIZES) as SizeName[]);
  const services = await connectServices({ noServices: options.noServices });
  const ctx: Ctx = {
    options,
    budget: budgetFor(options),
    sizes,
    states: statesFor(sizes),
    services,
    adminCounts: options.smoke ? [500] : options.quick ? [10_000] : [10_000, 100_000],
    results: [],
    oneShots: [],
    pairs: [],
    notes: [],
    log: (line) => console.error(line),
  };
  // Ctrl-C still removes what the run created on Redis / PostgreSQL.
  const onSignal = () => {
    console.error('[bench] interrupted: cleaning up');
    void services.cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let doc: RunDocument;
  try {
    for (const [name, run] of SUITES) {
      if (options.only.length > 0 && !options.only.includes(name)) continue;
      const s0 = performance.now();
      ctx.log(`[bench] ${name}…`);
      await run(ctx);
      ctx.log(`[bench] ${name} done in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
    }
    doc = {
      version: 1,
      startedAt: startedAt.toISOString(),
      durationS: (performance.now() - t0) / 1000,
      mode: options.smoke ? 'smoke' : options.quick ? 'quick' : 'full',
      machine: await machine(ctx, loadAtStart),
      notes: ctx.notes,
      targets: evaluateTargets(ctx.results, ctx.oneShots, ctx.pairs),
      pairs: ctx.pairs,
      measurements: ctx.results,
      admin: ctx.oneShots,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await services.cleanup();
  }
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(path.join(options.outDir, 'latest.json'), `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(path.join(options.outDir, 'latest.md'), markdown(doc, sizes));
  printSummary(doc, sizes);
  console.error(`[bench] wrote ${path.join(options.outDir, 'latest.json')} and latest.md in ${doc.durationS.toFixed(1)} s`);
  return doc;
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
