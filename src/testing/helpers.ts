/** What both suites share: the typed-rejection assertion, a realistic state, and the clock's start. */
import { expect } from 'vitest';
import { type ErrorCode, isSessionStoreError, type SessionState } from '../internal.js';

export const MINUTE = 60_000;

/** Where every test's fake clock starts (a fixed instant, so deadlines are reproducible). */
export const START = Date.UTC(2030, 0, 1);

/** Asserts `promise` rejects with a `SessionStoreError` of `code`. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  let settled = false;
  try {
    await promise;
    settled = true;
  } catch (err) {
    if (!isSessionStoreError(err)) throw new Error(`expected a SessionStoreError '${code}', got: ${String(err)}`, { cause: err });
    expect(err.code).toBe(code);
  }
  if (settled) throw new Error(`expected rejection with '${code}', but it resolved`);
}

/** A realistic MCP-like state. */
export function sampleState(n = 0): SessionState {
  return {
    protocolVersion: '2025-06-18',
    clientInfo: { name: 'test-client', version: `1.${n}.0` },
    capabilities: { elicitation: {}, roots: { listChanged: true } },
    counter: n,
    tags: ['a', 'b', 'ünïcødé ✓', ''],
    nested: { deep: { deeper: [1, 2.5, -3, null, true, false] } },
  };
}
