/**
 * The `rotation` audit events of a keyring, however its keys changed: `SecureStore.rotateKey` /
 * `retireKey`, the application's own `keyring.transaction(...)`, or a `reload()` / `watch()` that
 * picked up a change another process (the CLI, another instance) made to the keyset.
 *
 * Threat: a key change nobody sees. An operator who rotates or retires keys outside the store (the
 * documented `keyring.transaction` path, the CLI) must still leave a trace in the audit log, so it
 * is derived from the keyring's own change notifications rather than from the store's methods.
 * Events carry kids only, never key material.
 */
import type { AuditEvent } from '../audit.js';
import type { Keyring } from '../keys/keyring.js';
import type { KeyInfo, KeyStatus } from '../keys/types.js';

/** The operation a key's change of status reports. A demotion (primary to active) is the other half of a rotation or promotion: not reported on its own. */
function operationFor(before: KeyStatus | undefined, after: KeyStatus): string | undefined {
  if (before === after) return undefined;
  if (before === undefined) return after === 'destroyed' ? 'destroyKey' : 'rotateKey';
  if (after === 'primary') return 'promoteKey';
  if (after === 'retired') return 'retireKey';
  if (after === 'destroyed') return 'destroyKey';
  if (after === 'active' && before === 'retired') return 'reactivateKey';
  return undefined;
}

/** The events that lead from `before` to `after` (new keys first, in creation order). */
export function keyChanges(before: ReadonlyMap<string, KeyStatus>, after: readonly KeyInfo[]): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const k of [...after].sort((a, b) => a.createdAt - b.createdAt)) {
    const operation = operationFor(before.get(k.kid), k.status);
    if (operation !== undefined) events.push({ type: 'rotation', operation, kid: k.kid });
  }
  return events;
}

function statuses(keyring: Keyring): Map<string, KeyStatus> {
  return new Map(keyring.list().map((k) => [k.kid, k.status]));
}

/** Calls `emit` with one `rotation` event per key whose status changed, after every keyring change. Returns an unsubscribe function. */
export function auditKeyChanges(keyring: Keyring, emit: (event: AuditEvent) => void): () => void {
  let seen = statuses(keyring);
  return keyring.onChange(() => {
    const now = keyring.list();
    const events = keyChanges(seen, now);
    seen = new Map(now.map((k) => [k.kid, k.status]));
    for (const e of events) emit(e);
  });
}
