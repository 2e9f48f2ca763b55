/**
 * The `sealed-session` program: commander for parsing and help, one module per command group,
 * and one place that turns every outcome into an exit code (0 ok, 1 failure, 2 usage) and, with
 * --json, into a JSON document on stdout.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.js';
import { isSessionStoreError } from '../internal.js';
import { registerAdoptCommand } from './adopt.js';
import { CliError, CliExit, type CliIo, EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './io.js';
import { registerKeysCommands } from './keys.js';
import { registerRekeyCommand } from './rekey.js';
import { registerSessionCommands } from './sessions.js';
import { registerTokenCommands } from './tokens.js';
import { closeOpened } from './options.js';

export const PROGRAM_NAME = 'sealed-session';

export function buildProgram(io: CliIo): Command {
  const program = new Command(PROGRAM_NAME)
    .description('Key management and re-keying for sealed-session-store: the keyset file, the store, its sessions and tokens.')
    .version('0.1.0', '--version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => write(s),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('afterAll', EXIT_CODES_HELP);
  registerKeysCommands(program, io);
  registerRekeyCommand(program, io);
  registerSessionCommands(program, io);
  registerTokenCommands(program, io);
  registerAdoptCommand(program, io);
  return program;
}

function errorCode(err: unknown): string {
  if (err instanceof CliError) return err.code;
  if (isSessionStoreError(err)) return err.code;
  return 'internal';
}

/** Runs one invocation (`argv` without node and script) and resolves its exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  try {
    const program = buildProgram(io);
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return EXIT_USAGE;
    }
    await program.parseAsync([...argv], { from: 'user' });
    await closeOpened(io);
    return EXIT_OK;
  } catch (err) {
    await closeOpened(io);
    if (err instanceof CliExit) return err.exitCode;
    if (err instanceof CommanderError) {
      // Help and version end with exitCode 0; every parse error is a usage error.
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
      if (err.code === 'commander.help') return EXIT_USAGE; // a group without a subcommand
      return EXIT_USAGE;
    }
    const exitCode = err instanceof CliError ? err.exitCode : err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILURE;
    const message = err instanceof Error ? err.message : String(err);
    if (json) {
      io.stdout(
        `${JSON.stringify({ ok: false, error: { code: errorCode(err), message, ...(err instanceof ConfigError ? { field: err.field } : {}) } }, null, 2)}\n`,
      );
    }
    io.stderr(`error: ${message}\n`);
    if (!(err instanceof CliError) && !isSessionStoreError(err) && io.env.SSS_DEBUG === '1' && err instanceof Error) io.stderr(`${err.stack ?? ''}\n`);
    return exitCode;
  }
}
