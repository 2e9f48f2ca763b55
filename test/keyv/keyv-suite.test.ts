/**
 * Keyv's own adapter test suite (@keyv/test-suite, the one Keyv's adapters run), over the sealed
 * adapter. The suite lives in test/keyv-suite/ (its own install, see its package.json): absent,
 * these tests skip with a printed reason, and fail under REQUIRE_SERVICES=1.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Keyv from 'keyv';
import * as vitest from 'vitest';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { sealedKeyv } from 'sealed-session-store/keyv';

const suiteDir = path.resolve(import.meta.dirname, '../keyv-suite/node_modules/@keyv/test-suite/dist/index.js');
type Suite = (test: typeof vitest, keyv: typeof Keyv, store: () => unknown) => void;
let suite: Suite | undefined;
let reason = '';
try {
  suite = ((await import(pathToFileURL(suiteDir).href)) as { default: Suite }).default;
} catch (err) {
  reason = `@keyv/test-suite is not installed (run: npm ci --ignore-scripts --prefix test/keyv-suite): ${(err as Error).message}`;
  if (process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${reason}`);
  console.warn(`[skip] ${reason}`);
}

const secure = secureStore(new MemoryStore(), { keyring: Keyring.generate(), namespace: 'keyv-suite' });

vitest.describe.skipIf(suite === undefined)('Keyv adapter: @keyv/test-suite', () => {
  if (suite !== undefined) suite(vitest, Keyv, () => sealedKeyv(secure));
});
