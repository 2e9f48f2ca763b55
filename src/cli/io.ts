/**
 * What every command writes to and how it fails. Commands never touch `process` directly: the
 * entry point (main.ts) hands them real streams, tests hand them buffers, so each command can be
 * run in-process as well as as a child process.
 *
 * Exit codes: 0 ok, 1 failure (the operation ran and failed, or was interrupted), 2 usage (the
 * invocation or configuration is wrong; nothing was attempted).
 */

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  failure: the operation ran and failed (unreachable server, key state refused, invalid token,
     interrupted re-key, missing or malformed keyset)
  2  usage: unknown command or option, missing argument, invalid configuration value

Configuration comes from the same SSS_* environment variables the library reads
(sealed-session-store/config), read by the same rules; docs/configuration.md lists them.
Options on the command line override them.`;

export interface CliIo {
  /** Writes to standard output (text as given; add your own newline). */
  stdout(text: string): void;
  /** Writes to standard error. */
  stderr(text: string): void;
  /** Environment the configuration is read from. */
  env: Record<string, string | undefined>;
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** True when stderr is a terminal: progress bars instead of plain lines. */
  isTTY: boolean;
  /** The stream a progress bar draws on (stderr); only used when `isTTY`. */
  progressStream?: NodeJS.WritableStream;
  /** Aborted on Ctrl-C: long commands stop cleanly and print how to resume. */
  signal?: AbortSignal;
  now?: () => number;
}

/** A failure the command already explained, or wants explained with `message`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    /** Stable code for --json output. */
    readonly code: string = 'failure',
  ) {
    super(message);
  }
}

/** The invocation is wrong (exit 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE, 'usage');
  }
}

/** Ends the command with `exitCode`, output already written (e.g. `verify-token` saying "invalid"). */
export class CliExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Options every command has. */
export interface OutputOptions {
  json?: boolean;
}

export class Output {
  // Private (#): the io carries the environment (the keyset passphrase, maybe a keyset) and must
  // not show when an Output is logged or serialized (threat: secrets in logs).
  readonly #io: CliIo;

  constructor(
    io: CliIo,
    readonly json: boolean,
  ) {
    this.#io = io;
  }

  get io(): CliIo {
    return this.#io;
  }

  toJSON(): { json: boolean } {
    return { json: this.json };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Output ${JSON.stringify(this.toJSON())}`;
  }

  /** A human line on stdout (suppressed in --json mode). */
  line(text = ''): void {
    if (!this.json) this.io.stdout(`${text}\n`);
  }

  /** A diagnostic line on stderr (shown in both modes: stdout stays machine-readable). */
  note(text: string): void {
    this.io.stderr(`${text}\n`);
  }

  /** The one JSON document of a --json run. */
  result(value: Record<string, unknown>): void {
    if (this.json) this.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  }

  table(rows: string[][]): void {
    if (this.json || rows.length === 0) return;
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    for (const r of rows) this.line(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
  }
}

/** "3d 4h", "12m 5s": a short age for humans. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const neg = ms < 0;
  let s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = d > 0 ? [`${d}d`, `${h}h`] : h > 0 ? [`${h}h`, `${m}m`] : m > 0 ? [`${m}m`, `${s}s`] : [`${s}s`];
  return (neg ? '-' : '') + parts.join(' ');
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
