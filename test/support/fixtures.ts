/**
 * Backend fixtures: one per engine, so every contract and security test runs over every backend
 * from one list (test/fixtures/index.ts). A fixture hands out fresh, isolated stores (own key
 * prefix / schema) and removes everything it created in `cleanup`.
 */
import type { RecordStore } from 'sealed-session-store';

export interface FixtureContext {
  /** The clock the store must use (the suites drive it). */
  now: () => number;
}

export interface BackendFixture {
  name: string;
  /** Resolves a reason to skip (service absent) or undefined; throws under REQUIRE_SERVICES=1. */
  skipReason(): Promise<string | undefined>;
  /** A fresh store sharing nothing with earlier ones. */
  create(ctx: FixtureContext): Promise<RecordStore>;
  /** A second handle on the SAME data as `store` (another "process"), when the backend is shared. */
  connectAgain?(store: RecordStore, ctx: FixtureContext): Promise<RecordStore>;
  /** Closes clients and removes every key / table this fixture created. */
  cleanup(): Promise<void>;
}
