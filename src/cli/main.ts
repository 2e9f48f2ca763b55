#!/usr/bin/env node
/**
 * Entry point of the `sealed-session` command (package.json `bin`). Wires the real process to
 * the program: stdout / stderr, the environment, and Ctrl-C. The first SIGINT asks long commands
 * (rekey) to stop cleanly and print how to resume; a second one exits at once.
 */
import { runCli } from './program.js';

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts++;
  if (interrupts === 1) {
    process.stderr.write('\ninterrupt: finishing the sessions in flight (Ctrl-C again to quit at once)\n');
    controller.abort();
  } else {
    process.exit(130);
  }
});

// A reader that goes away (`sealed-session keys list | head`) is not an error of ours: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

runCli(process.argv.slice(2), {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
  isTTY: process.stderr.isTTY === true,
  progressStream: process.stderr,
  signal: controller.signal,
}).then((code) => {
  process.exitCode = code;
  // Every client this command opened is closed by now; should a library still hold a handle,
  // do not hang the shell over it.
  setTimeout(() => process.exit(code), 3000).unref();
});
