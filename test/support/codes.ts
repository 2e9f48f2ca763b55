/** The `code` of the SessionStoreError a synchronous call throws, or undefined when it returns; any other throw is rethrown. */
import { isSessionStoreError } from 'sealed-session-store';

export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (!isSessionStoreError(err)) throw err;
    return err.code;
  }
}
