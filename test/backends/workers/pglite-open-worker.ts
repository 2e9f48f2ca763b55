/**
 * Tries to open a PGlite data directory another process holds; prints what happened as JSON.
 * Usage: tsx pglite-open-worker.ts <dataDir>
 */
import { PgliteStore } from '../../../src/backends/pglite.js';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: pglite-open-worker.ts <dataDir>');
try {
  const store = await PgliteStore.open({ dataDir });
  await store.close();
  process.stdout.write(JSON.stringify({ opened: true }));
} catch (err) {
  const e = err as { name?: string; code?: string; pid?: number; message?: string };
  process.stdout.write(JSON.stringify({ opened: false, name: e.name, code: e.code, pid: e.pid, message: e.message }));
}
