/**
 * A keyset change refused because the keyset file is read-only here (a mounted secret): the CLI
 * hands the operator the changed keyset to put into whatever owns the file (a secret manager, a
 * Kubernetes Secret), since it may not write it itself. The text is the keyset as the file would
 * hold it: wrapped by its provider, cleartext only when the keyset already is (and then said so).
 */
import { ReadOnlyKeysetError } from '../internal.js';
import { CliError } from './io.js';

/** The CLI failure for a read-only keyset (exit 1, code `key_state`), or undefined for any other error. */
export function readOnlyKeysetFailure(err: unknown): CliError | undefined {
  if (!(err instanceof ReadOnlyKeysetError)) return undefined;
  const what = err.cleartext ? 'CLEARTEXT keyset (it holds key material: handle it as a secret)' : 'keyset, wrapped as the file holds it';
  return new CliError(
    `${err.message}.\nPut the new ${what} into the secret that ${err.path} is mounted from; every process following the file picks it up:\n${err.unsafeNewKeysetText()}`,
    1,
    'key_state',
  );
}
