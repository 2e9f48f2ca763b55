/** sealed-session-store/testing: the suites store authors run against their own stores (vitest). */
export { createFakeClock, type FakeClock } from './clock.js';
export { expectCode, sampleState } from './helpers.js';
export {
  type ContractOptions,
  type IndexSwitches,
  type ListingSwitches,
  type RecordLevelSwitches,
  runStoreContract,
  type StoreFactory,
  type StoreFactoryContext,
  type SuiteSwitches,
} from './contract/index.js';
export { runSecuritySuite, type SecureStack, type SecureStackContext, type SecureStackFactory, type SecuritySuiteOptions } from './security/index.js';
