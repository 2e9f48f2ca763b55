/**
 * The contract suite on `secureStore(backend).for(owner)` and the security suite on
 * `secureStore(backend)`, over every backend fixture.
 */
import { afterAll } from 'vitest';
import { Keyring, secureStore } from 'sealed-session-store';
import { runSecuritySuite, runStoreContract } from 'sealed-session-store/testing';
import { fixtures } from '../support/fixtures/index.js';
import { buildSecureStack, testOwner } from '../support/stacks.js';

for (const fixture of fixtures) {
  const skip = await fixture.skipReason();
  afterAll(() => fixture.cleanup());

  runStoreContract(
    `secureStore(${fixture.name}).for(owner)`,
    async ({ now }) => {
      const backend = await fixture.create({ now });
      return secureStore(backend, { keyring: Keyring.generate({ now }), namespace: 'contract', now }).for(testOwner);
    },
    { skip, recordLevel: false },
  );

  runSecuritySuite(`secureStore(${fixture.name})`, (ctx) => buildSecureStack(fixture, ctx), { skip });
}
