/**
 * Atomic file replacement: write a temporary file in the same directory (created exclusively,
 * mode 0600), fsync it, rename it over the target, fsync the directory. Readers see the old file
 * or the new one, never a torn write; a crash leaves at worst a stray temporary file.
 */
import { base64urlEncode } from '../util/bytes.js';
import { secureRandom } from '../util/random.js';
import { nodeFs } from './fs.js';

export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  const fsp = nodeFs().promises;
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const dir = slash >= 0 ? path.slice(0, slash) || '/' : '.';
  const base = slash >= 0 ? path.slice(slash + 1) : path;
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
    await fsp.rename(tmp, path);
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
