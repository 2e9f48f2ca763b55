/**
 * The security suite: one test per threat, run on secured stacks (`secureStore` over any backend).
 * Like the contract suite it takes a factory, imports only the library and vitest, and is one file
 * per topic (ownership, envelopes at rest, expiry, tokens, states); it reads sealed envelopes by the
 * byte layout SECURITY.md documents, as an attacker with database access would.
 */
import { afterEach, beforeEach, describe } from 'vitest';
import type { AuditEvent } from '../../internal.js';
import { createFakeClock, type FakeClock } from '../clock.js';
import { MINUTE, START } from '../helpers.js';
import { envelopeTests } from './envelopes.js';
import { expiryTests } from './expiry.js';
import { ownershipTests } from './ownership.js';
import { stateTests } from './states.js';
import { tokenTests } from './tokens.js';
import type { SecureStack, SecureStackFactory, SecurityContext, SecuritySuiteOptions } from './types.js';

export type { SecureStack, SecureStackContext, SecureStackFactory, SecuritySuiteOptions } from './types.js';

export function runSecuritySuite(name: string, factory: SecureStackFactory, options: SecuritySuiteOptions = {}): void {
  describe.skipIf(options.skip !== undefined)(`security suite: ${name}`, () => {
    let clock: FakeClock;
    let stack: SecureStack;
    let events: AuditEvent[];
    const t: SecurityContext = {
      get stack() {
        return stack;
      },
      get clock() {
        return clock;
      },
      get events() {
        return events;
      },
      async raw(id) {
        const rec = await stack.backend.loadRecord(id);
        if (rec === undefined || !(rec.value instanceof Uint8Array)) throw new Error('backend does not hold an envelope for this id');
        return rec.value;
      },
      async put(id, envelope, expiresAt = clock.now() + 100 * MINUTE) {
        await stack.backend.saveRecord(id, envelope, { expiresAt });
      },
    };

    beforeEach(async () => {
      clock = createFakeClock(START);
      events = [];
      stack = await factory({ now: () => clock.now(), onEvent: (e) => events.push(e) });
      await stack.store.start();
    });

    afterEach(async () => {
      await stack.store.close();
      await options.teardown?.(stack);
    });

    ownershipTests(t);
    envelopeTests(t);
    expiryTests(t);
    tokenTests(t);
    stateTests(t);
  });
}
