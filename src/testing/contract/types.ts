/**
 * The compliance suite's inputs: the store factory, the switches (grouped by the topic they turn
 * on or off), and the context every topic reads its store and clock from.
 */
import type { SessionStore } from '../../internal.js';
import type { FakeClock } from '../clock.js';

export interface StoreFactoryContext {
  /** The clock the store must read; the suite moves it. */
  now: () => number;
}

export type StoreFactory = (ctx: StoreFactoryContext) => SessionStore | Promise<SessionStore>;

/** Switches of the whole run. */
export interface SuiteSwitches {
  /** Skip the whole suite with this reason (e.g. a service is absent). */
  skip?: string | undefined;
  /** Called after each test with the store (after `close()`). */
  teardown?: (store: SessionStore) => void | Promise<void>;
}

/** Switches of `listing.ts` (and of the one `expiry.ts` case that needs `cleanupExpired`). */
export interface ListingSwitches {
  /**
   * `listActive` / `cleanupExpired` are offered (a store scoped to one owner may refuse them).
   * Default true; false skips the listing topic and the cleanup step of the expiry topic.
   */
  listing?: boolean;
}

/** Switches of `record-level.ts` (the compare-and-swap contract under `SessionStore`). */
export interface RecordLevelSwitches {
  /** Run the record-level cases; default: when the store has loadRecord/saveRecord/deleteRecord. */
  recordLevel?: boolean;
  /** The record level accepts `Uint8Array` values (backends do; plaintext layers do not). Default true. */
  bytes?: boolean;
}

/** Switches of `record-index.ts` (the per-index listing of the record level). */
export interface IndexSwitches {
  /** Run the `listByIndex` cases; default: when the record store has `listByIndex`. */
  index?: boolean;
}

export interface ContractOptions extends SuiteSwitches, ListingSwitches, RecordLevelSwitches, IndexSwitches {}

/**
 * What a topic's tests reach: a new store and clock for every test (read them inside the test,
 * never when the topic registers its tests), and fresh ids.
 */
export interface ContractContext {
  readonly store: SessionStore;
  readonly clock: FakeClock;
  /** A valid id no other test uses; `label` shows up in failure output. */
  id(label?: string): string;
}
