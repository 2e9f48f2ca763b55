/** What every benchmark suite receives: options, budgets, services, and where results go. */
import type { Budget, Measurement, OneShot, PairResult } from './measure.js';
import type { Services } from './services.js';
import type { SizeName } from './states.js';
import type { SessionState } from '../src/index.js';

export interface Options {
  /** Fewer sizes and iterations, 10k sessions only: under a minute. */
  quick: boolean;
  /** The least work that still runs every row once (CI smoke). */
  smoke: boolean;
  /** Skip Redis and PostgreSQL even when they answer. */
  noServices: boolean;
  /** Where JSON and markdown go. */
  outDir: string;
  /** Only suites whose name is listed (floors, layers, tokens, peers, admin, express-user, pairs); empty = all. */
  only: string[];
}

export interface Ctx {
  options: Options;
  budget: Budget;
  sizes: SizeName[];
  states: Map<SizeName, SessionState>;
  services: Services;
  /** Session counts for the admin operations. */
  adminCounts: number[];
  results: Measurement[];
  oneShots: OneShot[];
  /** Interleaved pairs the targets are computed from (pairs.ts). */
  pairs: PairResult[];
  notes: string[];
  log: (line: string) => void;
}

export function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, smoke: false, noServices: false, outDir: 'bench/results', only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') options.quick = true;
    else if (a === '--smoke') options.quick = options.smoke = true;
    else if (a === '--no-services') options.noServices = true;
    else if (a === '--out') options.outDir = argv[++i] ?? options.outDir;
    else if (a.startsWith('--out=')) options.outDir = a.slice(6);
    else if (a === '--only') options.only.push(...(argv[++i] ?? '').split(','));
    else if (a.startsWith('--only=')) options.only.push(...a.slice(7).split(','));
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [--quick] [--smoke] [--no-services] [--out DIR] [--only floors,layers,tokens,peers,admin,rotation,keyset,express-user,pairs]');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return options;
}

export function budgetFor(options: Options): Budget {
  if (options.smoke) return { warmupMs: 0, timeMs: 2, minIterations: 2 };
  if (options.quick) return { warmupMs: 10, timeMs: 40, minIterations: 4 };
  return { warmupMs: 100, timeMs: 400, minIterations: 16 };
}

/** The budget for one row, scaled down for large states so 256 KB rows do not dominate the run. */
export function budgetForSize(base: Budget, size: SizeName | undefined): Budget {
  if (size !== '256KB') return base;
  return { ...base, minIterations: Math.max(2, Math.ceil(base.minIterations / 2)) };
}
