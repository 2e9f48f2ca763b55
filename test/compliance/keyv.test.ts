/**
 * Any Keyv store as the backend under the security layers (`keyvBackend`): the record-level
 * compliance suite on the backend itself, the contract suite on `secureStore(keyvBackend(...))`,
 * and the security suite, over Keyv's Map store and over @keyv/redis on the real server.
 * Single process only (docs/keyv.md): the fixtures offer no second "process".
 */
import { afterAll } from 'vitest';
import { Keyring, secureStore } from 'sealed-session-store';
import { runSecuritySuite, runStoreContract } from 'sealed-session-store/testing';
import { keyvMapFixture, keyvRedisFixture } from '../support/fixtures/keyv.js';
import { buildSecureStack, testOwner } from '../support/stacks.js';

for (const fixture of [keyvMapFixture, keyvRedisFixture]) {
  const skip = await fixture.skipReason();
  afterAll(() => fixture.cleanup());

  runStoreContract(`keyvBackend ${fixture.name}`, (ctx) => fixture.create(ctx), { skip });

  runStoreContract(
    `secureStore(keyvBackend ${fixture.name}).for(owner)`,
    async ({ now }) => secureStore(await fixture.create({ now }), { keyring: Keyring.generate({ now }), namespace: 'contract', now }).for(testOwner),
    { skip, recordLevel: false },
  );

  runSecuritySuite(`secureStore(keyvBackend ${fixture.name})`, (ctx) => buildSecureStack(fixture, ctx), { skip });
}
