/** The security suite's inputs: the secured stack under test, and what each topic's tests reach. */
import type { AuditEvent, RecordStore, SecureStore } from '../../internal.js';
import type { FakeClock } from '../clock.js';

export interface SecureStackContext {
  now: () => number;
  /** Where the stack must send audit events (the suite checks some). */
  onEvent: (event: AuditEvent) => void;
}

export interface SecureStack {
  store: SecureStore;
  /** The backend under the stack, as an attacker with database access sees it. */
  backend: RecordStore;
  /** A new `SecureStore` over the same backend and keys, as after a process restart. */
  reopen(): Promise<SecureStore>;
}

export type SecureStackFactory = (ctx: SecureStackContext) => Promise<SecureStack>;

export interface SecuritySuiteOptions {
  /** Skip the whole suite with this reason (e.g. a service is absent). */
  skip?: string | undefined;
  /** Called after each test with the stack (after its store's `close()`). */
  teardown?: (stack: SecureStack) => void | Promise<void>;
}

/**
 * What a topic's tests reach: a new stack, clock and audit log for every test (read them inside
 * the test, never when the topic registers its tests), and the backend's raw envelopes.
 */
export interface SecurityContext {
  readonly stack: SecureStack;
  readonly clock: FakeClock;
  /** The audit events the stack sent during this test. */
  readonly events: readonly AuditEvent[];
  /** The sealed envelope the backend holds for `id` (throws when there is none). */
  raw(id: string): Promise<Uint8Array>;
  /** Writes `envelope` under `id` straight into the backend, as an attacker with database access. */
  put(id: string, envelope: Uint8Array, expiresAt?: number): Promise<void>;
}
