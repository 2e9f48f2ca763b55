/**
 * Runs one file of examples/ as a user would (`npx tsx examples/<name>.ts`, here as
 * `node --import tsx`), with the `SSS_*` variables and SESSION_SECRET of this process removed so
 * each example starts from its own defaults.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export function runExample(name: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SSS_') && k !== 'SESSION_SECRET') base[k] = v;
  const child = spawn(process.execPath, ['--import', TSX, `examples/${name}.ts`], { cwd: ROOT, env: { ...base, ...env } as NodeJS.ProcessEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
