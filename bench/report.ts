/** Turns one run into a printed table, a JSON document and a markdown table. */
import type { Measurement, OneShot, PairResult } from './measure.js';
import type { TargetResult } from './targets.js';

export interface Machine {
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  /** 1-minute load average when the run started and ended (other work on the machine skews timings). */
  loadAvg: { start: number; end: number };
  redis?: string;
  postgres?: string;
}

export interface RunDocument {
  version: 1;
  startedAt: string;
  durationS: number;
  mode: 'full' | 'quick' | 'smoke';
  machine: Machine;
  notes: string[];
  targets: TargetResult[];
  /** The interleaved pairs the targets come from. */
  pairs: PairResult[];
  measurements: Measurement[];
  admin: OneShot[];
}

const num = (n: number): string => (n >= 1000 ? Math.round(n).toLocaleString('en-US') : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const verdict = (p: boolean | undefined) => (p === undefined ? '—' : p ? 'pass' : 'MISS');

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function targetsTable(targets: TargetResult[]): string {
  return table(
    ['target', 'measured', 'value', 'goal', 'CPU µs added/op', 'result'],
    targets.map((t) => [
      t.description,
      t.measured,
      t.value === undefined ? '—' : t.goal.includes('µs') || t.goal.includes('sessions/s') ? num(t.value) : `${num(t.value)}×`,
      t.goal,
      t.cpuAddedUs === undefined ? '—' : num(t.cpuAddedUs),
      verdict(t.pass),
    ]),
  );
}

/** Rows at one size: label, backend, sequential median and CPU, 32-in-flight throughput and CPU. */
function sizeTable(results: Measurement[], size: string): string {
  const keyOf = (m: Measurement) => `${m.group}|${m.label}|${m.backend ?? ''}`;
  const groups = new Map<string, { seq?: Measurement; par?: Measurement; first: Measurement }>();
  for (const m of results) {
    if (m.size !== size) continue;
    const k = keyOf(m);
    const g = groups.get(k) ?? { first: m };
    if (m.mode === '32') g.par = m;
    else g.seq = m;
    groups.set(k, g);
  }
  const rows = [...groups.values()].map((g) => [
    g.first.label,
    g.first.backend ?? '—',
    g.seq === undefined ? '—' : num(g.seq.medianUs),
    g.seq === undefined ? '—' : num(g.seq.cpuUsPerOp),
    g.par === undefined ? '—' : num(g.par.opsPerSec),
    g.par === undefined ? '—' : num(g.par.cpuUsPerOp),
  ]);
  return table(['row', 'backend', 'median µs (seq)', 'CPU µs/op (seq)', 'ops/s (32 in flight)', 'CPU µs/op (32)'], rows);
}

/** Sequential medians of one row across sizes. */
function growthTable(results: Measurement[], sizes: string[]): string {
  const ids = new Map<string, Map<string, Measurement>>();
  for (const m of results) {
    if (m.size === undefined || m.mode === '32') continue;
    if (!(m.group === 'floors' || m.group === 'crypto' || m.group === 'peers' || m.id.includes('/full/') || m.id.includes('/raw/'))) continue;
    if (m.id.includes('/update')) continue;
    const k = `${m.label}${m.backend === undefined ? '' : ` (${m.backend})`}`;
    const row = ids.get(k) ?? new Map<string, Measurement>();
    row.set(m.size, m);
    ids.set(k, row);
  }
  return table(
    ['row (sequential median µs)', ...sizes],
    [...ids.entries()].map(([k, row]) => [k, ...sizes.map((s) => (row.has(s) ? num(row.get(s)!.medianUs) : '—'))]),
  );
}

function pairsTable(pairs: PairResult[]): string {
  return table(
    ['pair', 'a', 'a µs/op', 'b', 'b µs/op', 'b / a (median of rounds)', 'b ops/s ÷ a ops/s', 'CPU µs/op b − a', 'server CPU µs/op a → b', 'rounds'],
    pairs.map((x) => [
      x.id,
      x.a.label,
      num(x.a.us),
      x.b.label,
      num(x.b.us),
      `${num(x.ratio)}×`,
      `${num(x.throughputRatio)}×`,
      num(x.cpuAddedUs),
      x.a.serverCpuUs === undefined || x.b.serverCpuUs === undefined ? '—' : `${num(x.a.serverCpuUs)} → ${num(x.b.serverCpuUs)}`,
      String(x.rounds),
    ]),
  );
}

function adminTable(shots: OneShot[]): string {
  return table(
    ['backend', 'operation', 'sessions', 'wall ms', 'sessions/s', 'CPU ms', 'result', 'note'],
    shots.map((s) => [s.backend, s.label, s.sessions.toLocaleString('en-US'), num(s.wallMs), num(s.perSec), num(s.cpuMs), String(s.result), s.note ?? '']),
  );
}

export function markdown(doc: RunDocument, sizes: string[]): string {
  const m = doc.machine;
  const parts = [
    `# sealed-session-store benchmarks (${doc.mode} run, ${doc.startedAt})`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}` +
      `${m.redis === undefined ? '' : `, Redis ${m.redis}`}${m.postgres === undefined ? '' : `, PostgreSQL ${m.postgres}`} (servers on the same machine). Run took ${doc.durationS.toFixed(0)} s; 1-min load average ${m.loadAvg.start.toFixed(1)} at start, ${m.loadAvg.end.toFixed(1)} at end.`,
    '',
    '## Targets',
    '',
    targetsTable(doc.targets),
    '',
  ];
  if (doc.pairs.length > 0) {
    parts.push(
      '## Interleaved pairs (what the targets above are computed from)',
      '',
      'Each pair runs its two sides in alternating slices, so the ratio survives the machine speeding up or slowing down (bench/pairs.ts).',
      '',
      pairsTable(doc.pairs),
      '',
    );
  }
  for (const size of sizes) {
    parts.push(`## ${size} states`, '', sizeTable(doc.measurements, size), '');
  }
  const unsized = doc.measurements.filter((x) => x.size === undefined);
  if (unsized.length > 0) {
    parts.push(
      '## Tokens and nonces',
      '',
      table(
        ['row', 'median µs', 'CPU µs/op', 'ops/s'],
        unsized.map((x) => [x.label, num(x.medianUs), num(x.cpuUsPerOp), num(x.opsPerSec)]),
      ),
      '',
    );
  }
  if (sizes.length > 1) parts.push('## Growth with state size', '', growthTable(doc.measurements, sizes), '');
  if (doc.admin.length > 0) parts.push('## Admin operations', '', adminTable(doc.admin), '');
  if (doc.notes.length > 0) parts.push('## Notes', '', ...doc.notes.map((n) => `- ${n}`), '');
  return parts.join('\n');
}

/** The console summary: targets plus the 1 KB (or first size) table. */
export function printSummary(doc: RunDocument, sizes: string[]): void {
  const main = sizes.includes('1KB') ? '1KB' : sizes[0];
  const lines = ['', targetsTable(doc.targets), ''];
  if (main !== undefined) lines.push(`${main} states:`, sizeTable(doc.measurements, main), '');
  if (doc.admin.length > 0) lines.push(adminTable(doc.admin), '');
  if (doc.notes.length > 0) lines.push(...doc.notes.map((n) => `note: ${n}`));
  console.log(lines.join('\n'));
}
