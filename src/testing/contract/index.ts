/**
 * The compliance suite: every promise of the `SessionStore` contract (and, when the store offers
 * it, the record-level compare-and-swap), as vitest tests that take a factory. Every backend and
 * every layer stack in this repository runs it; users run it on their own stores:
 *
 *   import { runStoreContract } from 'sealed-session-store/testing';
 *   runStoreContract('my store', ({ now }) => new MyStore({ now }));
 *
 * One file per topic, each a function of the shared context and its own switches (types.ts
 * documents them). It imports only the library and vitest, and never picks a backend itself.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionStore } from '../../internal.js';
import { createFakeClock, type FakeClock } from '../clock.js';
import { START } from '../helpers.js';
import { deleteTests } from './delete.js';
import { expiryTests } from './expiry.js';
import { invalidInputTests } from './invalid-input.js';
import { keysetTests } from './keyset.js';
import { listingTests } from './listing.js';
import { recordIndexTests } from './record-index.js';
import { recordLevelTests } from './record-level.js';
import { saveLoadTests } from './save-load.js';
import type { ContractContext, ContractOptions, StoreFactory } from './types.js';
import { updateTtlTests } from './update-ttl.js';
import { updateFnTests } from './update-fn.js';
import { updateTests } from './update.js';

export type { ContractOptions, IndexSwitches, ListingSwitches, RecordLevelSwitches, StoreFactory, StoreFactoryContext, SuiteSwitches } from './types.js';

export function runStoreContract(name: string, factory: StoreFactory, options: ContractOptions = {}): void {
  describe.skipIf(options.skip !== undefined)(`SessionStore contract: ${name}`, () => {
    let clock: FakeClock;
    let store: SessionStore;
    let counter = 0;
    const t: ContractContext = {
      get store() {
        return store;
      },
      get clock() {
        return clock;
      },
      id: (label = 'sess') => `${label}-${++counter}-${Math.random().toString(36).slice(2, 10)}`,
    };

    beforeEach(async () => {
      clock = createFakeClock(START);
      store = await factory({ now: () => clock.now() });
      await store.start?.();
    });

    afterEach(async () => {
      await store.close();
      await options.teardown?.(store);
    });

    saveLoadTests(t);
    expiryTests(t, options);
    deleteTests(t);
    listingTests(t, options);
    updateTests(t);
    updateFnTests(t, options);
    updateTtlTests(t);
    invalidInputTests(t);

    it('close() is idempotent', async () => {
      await store.close();
      await expect(store.close()).resolves.toBeUndefined();
    });

    recordLevelTests(t, options);
    recordIndexTests(t, options);
    keysetTests(t);
  });
}
