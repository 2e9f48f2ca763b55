/**
 * A private AWS emulator (moto's `moto_server`) for the KMS tests: started per test file on a free
 * loopback port, killed when the file is done (or the process exits). Without `moto_server` on the
 * PATH the tests skip with a printed reason; under REQUIRE_SERVICES=1 they fail instead.
 * Fake credentials are handed to each client; nothing here touches the process environment.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { KMSClient } from '@aws-sdk/client-kms';
import { freePort, waitFor } from './servers.js';
import { REQUIRE_SERVICES } from './services.js';

export const FAKE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;
export const MOTO_REGION = 'us-east-1';
/**
 * The environment a child process (the CLI) needs to reach the emulator with fake credentials;
 * with `keyId`, also the keyset's KMS settings (SSS_KEYSET_KMS_*) naming that key on the emulator.
 */
export const motoEnv = (url: string, keyId?: string): Record<string, string> => ({
  AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
  AWS_REGION: MOTO_REGION,
  AWS_EC2_METADATA_DISABLED: 'true',
  ...(keyId === undefined ? {} : { SSS_KEYSET_KMS_KEY_ID: keyId, SSS_KEYSET_KMS_ENDPOINT: url }),
});

export interface Moto {
  url: string;
  client: KMSClient;
  /** A fresh symmetric KMS key of this run; resolves its key id and ARN. */
  createKey(): Promise<{ keyId: string; arn: string }>;
  stop(): Promise<void>;
}

/** Resolves the reason to skip, or undefined when `moto_server` can run. Throws under REQUIRE_SERVICES=1. */
export function motoSkipReason(): string | undefined {
  const probe = spawnSync('moto_server', ['--help'], { stdio: 'ignore', timeout: 20_000 });
  if (probe.status === 0) return undefined;
  const message = `moto_server (the AWS emulator) is not on the PATH (${probe.error?.message ?? `exit ${probe.status}`}); install moto[server] to run the KMS tests`;
  if (REQUIRE_SERVICES) throw new Error(`REQUIRE_SERVICES=1 but ${message}`);
  console.warn(`[skip] ${message}`);
  return message;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let log = '';
  child.stderr!.on('data', (d: Buffer) => void (log = (log + d.toString('utf8')).slice(-4000)));
  const client = new KMSClient({ endpoint: url, region: MOTO_REGION, credentials: FAKE_CREDENTIALS });
  try {
    await waitFor(
      `moto_server on ${url}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`moto_server exited ${child.exitCode}: ${log}`);
        try {
          const res = await fetch(`${url}/moto-api/`);
          return res.status < 500;
        } catch {
          return false;
        }
      },
      30_000,
      100,
    );
  } catch (err) {
    child.kill('SIGKILL');
    running.delete(child);
    throw err;
  }
  const { CreateKeyCommand } = await import('@aws-sdk/client-kms');
  return {
    url,
    client,
    async createKey() {
      const out = await client.send(new CreateKeyCommand({ Description: 'sealed-session-store test key', KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' }));
      return { keyId: out.KeyMetadata!.KeyId!, arn: out.KeyMetadata!.Arn! };
    },
    async stop() {
      client.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      running.delete(child);
    },
  };
}
