/**
 * The walk an administrator's key command makes: every place sealed under this keyset that one
 * connection can reach. That is the store the command was pointed at, plus every namespace the
 * registry (src/admin/namespaces.ts) records on the same server: the application's sessions
 * whatever namespace or prefix it uses, and its MCP event logs.
 */
import type { RecordStore } from '../contract/store.js';
import type { Keyring } from '../keys/keyring.js';
import { EncryptedStore } from '../layers/encrypt.js';
import { type NamespaceEntry, type NamespaceKind, type NamespaceLocation, listNamespaces, locationOf, registryOf, siblingOf } from './namespaces.js';

export interface WalkTarget {
  kind: NamespaceKind;
  namespace: string;
  location: NamespaceLocation;
  /** For people: `sessions of namespace "app" (prefix sss:app:)`. Never a session id. */
  label: string;
  /** The sealing layer over the target's records (closing it would close the shared backend: do not). */
  sealed: EncryptedStore;
}

export interface WalkPlan {
  targets: WalkTarget[];
  /** Recorded namespaces this connection cannot reach (another SQL table): the walk is incomplete. */
  unreachable: NamespaceEntry[];
  /**
   * Recorded namespaces whose records share a target's location under another namespace name (one
   * SQL table holds several namespaces): counted with it, but re-sealed only by a run pointed at
   * that namespace (their envelopes authenticate their own namespace).
   */
  shared: NamespaceEntry[];
  /** Whether the backend keeps a namespace registry at all (memory and custom backends do not). */
  registry: boolean;
}

export function describeTarget(kind: NamespaceKind, namespace: string, location: NamespaceLocation): string {
  const where = location.prefix !== undefined ? `prefix ${location.prefix}` : location.table !== undefined ? `table ${location.table}` : 'this store';
  return `${kind === 'events' ? 'MCP events' : 'sessions'} of namespace "${namespace}" (${where})`;
}

/**
 * The targets for `backend` (opened for `namespace`): itself first, then each recorded namespace
 * at another location, or under another namespace name, once.
 */
export async function planWalk(
  backend: RecordStore,
  options: {
    keyring: Keyring;
    /**
     * The namespace the operator named. When absent, and the registry records exactly one sessions
     * namespace at the backend's own location (one SQL table), that one is walked: the application's,
     * not `default`.
     */
    namespace: string | undefined;
    now?: () => number;
    unsafeAcceptPlaintext?: boolean;
  },
): Promise<WalkPlan> {
  const now = options.now ?? Date.now;
  const registry = registryOf(backend, now);
  const own = locationOf(backend) ?? {};
  const entries = registry === undefined ? [] : await listNamespaces(registry, options.keyring);
  const seen = new Set<string>();
  const targets: WalkTarget[] = [];
  const unreachable: NamespaceEntry[] = [];
  const shared: NamespaceEntry[] = [];
  const add = (kind: NamespaceKind, namespace: string, location: NamespaceLocation, store: RecordStore, entry?: NamespaceEntry) => {
    const key = JSON.stringify([location.prefix ?? null, location.table ?? null]);
    const taken = targets.find((t) => JSON.stringify([t.location.prefix ?? null, t.location.table ?? null]) === key);
    if (taken !== undefined) {
      if (entry !== undefined && (taken.namespace !== namespace || taken.kind !== kind)) shared.push(entry);
      return;
    }
    if (seen.has(key)) return;
    seen.add(key);
    const sealed = new EncryptedStore(store, {
      keyring: options.keyring,
      namespace,
      now,
      lazyReencrypt: false,
      ...(options.unsafeAcceptPlaintext === true ? { unsafeAcceptPlaintext: true } : {}),
    });
    targets.push({ kind, namespace, location, label: describeTarget(kind, namespace, location), sealed });
  };
  const sameAsOwn = (e: NamespaceEntry) => (e.prefix ?? null) === (own.prefix ?? null) && (e.table ?? null) === (own.table ?? null);
  const atOwn = entries.filter((e) => e.kind === 'sessions' && sameAsOwn(e));
  const namespace = options.namespace ?? (atOwn.length === 1 ? atOwn[0]!.namespace : 'default');
  add('sessions', namespace, own, backend);
  for (const e of entries.sort((a, b) => a.kind.localeCompare(b.kind) || a.namespace.localeCompare(b.namespace))) {
    const location: NamespaceLocation = e.prefix !== undefined ? { prefix: e.prefix } : e.table !== undefined ? { table: e.table } : {};
    const store = siblingOf(backend, location, now);
    if (store === undefined) unreachable.push(e);
    else add(e.kind, e.namespace, location, store, e);
  }
  return { targets, unreachable, shared, registry: registry !== undefined };
}

export interface TargetUsage {
  target: WalkTarget;
  /** Records per envelope kid (`plaintext`, `invalid` for the unsealed and the unparseable). */
  usage: Record<string, number>;
  /** Live records visited. */
  records: number;
}

/** Counts the live records of every target per kid (each location once: targets are distinct locations). */
export async function usageOf(plan: WalkPlan): Promise<TargetUsage[]> {
  const out: TargetUsage[] = [];
  for (const target of plan.targets) {
    const usage = await target.sealed.keyUsage();
    out.push({ target, usage, records: Object.values(usage).reduce((a, b) => a + b, 0) });
  }
  return out;
}
