/**
 * Atomic file replacement: write a temporary file in the same directory as the file replaced
 * (created exclusively, mode 0600), fsync it, rename it over that file, fsync the directory.
 * Readers see the old file or the new one, never a torn write; a crash leaves at worst a stray
 * temporary file.
 *
 * A path that is a symbolic link is written THROUGH: the file it resolves to is replaced, in its
 * own directory, and the link stays a link. Renaming over the link instead would turn a mounted
 * secret (Kubernetes points `keys.json` at `..data/keys.json` and swaps the `..data` directory
 * link on every update) into a plain file that no later update of the secret reaches.
 */
import { KeyStateError } from '../contract/errors.js';
import { base64urlEncode } from '../util/bytes.js';
import { secureRandom } from '../util/random.js';
import { nodeFs } from './fs.js';

/** Error codes of a file system (or directory) this process may not write: a mounted secret, a read-only volume. */
const READ_ONLY_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

/** Whether `err` says the file system refused a write for lack of permission or a read-only mount. */
export function isReadOnlyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && READ_ONLY_CODES.has(code);
}

/**
 * The file a write to `path` replaces: `path` itself, or the file its symbolic links resolve to.
 * A link to nothing is refused (`key_state`): writing would replace the link with a plain file.
 */
export async function writeTarget(path: string): Promise<string> {
  const fsp = nodeFs().promises;
  try {
    return await fsp.realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const st = await fsp.lstat(path).catch(() => undefined);
    if (st?.isSymbolicLink() === true) throw new KeyStateError(`${path} is a symbolic link to a file that does not exist: create its target, or remove the link`);
    return path;
  }
}

export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  const fsp = nodeFs().promises;
  const target = await writeTarget(path);
  const slash = Math.max(target.lastIndexOf('/'), target.lastIndexOf('\\'));
  const dir = slash >= 0 ? target.slice(0, slash) || '/' : '.';
  const base = slash >= 0 ? target.slice(slash + 1) : target;
  const tmp = `${dir}/.${base}.${base64urlEncode(secureRandom(9))}.tmp`;
  // 'wx': never follow or clobber a file an attacker planted at the temporary name.
  const handle = await fsp.open(tmp, 'wx', mode);
  try {
    try {
      await handle.writeFile(data, 'utf8');
      await handle.chmod(mode); // the umask may have narrowed it; never widen beyond `mode`
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  try {
    const d = await fsp.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Directory fsync is not supported everywhere (e.g. Windows); the rename itself is still atomic.
  }
}
