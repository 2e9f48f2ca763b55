/** sealed-session-store/testing: the suites store authors run against their own stores (vitest). */
export { createFakeClock, type FakeClock } from './clock.js';
export { type ContractOptions, expectCode, runStoreContract, sampleState, type StoreFactory, type StoreFactoryContext } from './contract.js';
export { runSecuritySuite, type SecureStack, type SecureStackContext, type SecureStackFactory, type SecuritySuiteOptions } from './security.js';
