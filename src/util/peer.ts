/**
 * Optional peer dependencies (database clients, SDKs), imported only when the feature that needs
 * them is used, with an error that says how to install them. Importing the core never loads one.
 */
import { BackendUnavailableError } from '../contract/errors.js';

/**
 * Resolves `load()` (a dynamic `import()` of `name`, written at the call site so bundlers see it),
 * or rejects `backend_unavailable` naming the package to install and the option that takes a
 * client instead.
 */
export async function importPeer<T>(name: string, load: () => Promise<T>, feature: string): Promise<T> {
  try {
    return await load();
  } catch (err) {
    throw new BackendUnavailableError(`${feature} needs the optional package '${name}': run \`npm install ${name}\` (or pass a client you created)`, {
      cause: err,
    });
  }
}
