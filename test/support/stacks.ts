/**
 * Builds the secured stack over a backend fixture, the way an application would, for the contract
 * and security suites.
 */
import { Keyring, type RecordStore, secureStore } from 'sealed-session-store';
import type { SecureStack, SecureStackContext } from 'sealed-session-store/testing';
import type { BackendFixture } from './fixtures/types.js';

export const testOwner = { subject: 'contract-owner', clientId: 'contract-client' };

export async function buildSecureStack(fixture: BackendFixture, ctx: SecureStackContext): Promise<SecureStack> {
  const backend: RecordStore = await fixture.create({ now: ctx.now });
  const keyring = Keyring.generate({ now: ctx.now });
  const make = () => secureStore(backend, { keyring, namespace: 'tests', now: ctx.now, onEvent: ctx.onEvent });
  return {
    store: make(),
    backend,
    reopen: async () => {
      const again = fixture.connectAgain === undefined ? backend : await fixture.connectAgain(backend, { now: ctx.now });
      const store = secureStore(again, { keyring, namespace: 'tests', now: ctx.now, onEvent: ctx.onEvent });
      await store.start();
      return store;
    },
  };
}
