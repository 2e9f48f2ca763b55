/**
 * The check `keys retire` and `keys destroy` make before an `encrypt` key stops opening data:
 * walk the application's store, every namespace the registry records on that server (sessions
 * under any prefix, MCP event logs), and refuse while anything live is sealed under the key.
 *
 * Threat: a key destroyed while data still needs it is data lost for good. Every way the count can
 * be wrong is a refusal, not a pass: no store configured (exit 2), a recorded namespace this
 * connection cannot reach, or a walk that opened nothing at all (the namespace or prefix is
 * probably not the application's). `--force` skips the count, with a warning on stderr.
 */
import { describeTarget, planWalk, usageOf } from '../internal.js';
import { CliError, type CliIo, type Output, UsageError } from './io.js';
import { type StoreOptions, openStore, resolveConfig } from './options.js';

export type GuardedVerb = 'retire' | 'destroy';

export interface GuardReport {
  /** Live records visited, and how many of them are sealed under the key, per place walked. */
  places: Array<{ place: string; records: number; underKey: number }>;
}

/** Refuses (CliError / UsageError) unless no live session or MCP event is sealed under `kid`. */
export async function assertEncryptKeyUnused(kid: string, verb: GuardedVerb, opts: StoreOptions, io: CliIo): Promise<GuardReport> {
  const config = resolveConfig(opts, io);
  if (config.adapter === undefined || config.adapter === 'memory') {
    throw new UsageError(
      `refusing to ${verb} encrypt key ${kid}: no store is configured to count the sessions and MCP events still sealed under it. Name the application's store (--redis URL, --postgres URL, --pglite DIR, or SSS_ADAPTER and SSS_URL as the application sets them)`,
    );
  }
  const created = await openStore(opts, io, { lazyReencrypt: false });
  try {
    const plan = await planWalk(created.backend, { keyring: created.keyring, namespace: created.config.namespace });
    if (plan.unreachable.length > 0) {
      const where = plan.unreachable.map((e) => describeTarget(e.kind, e.namespace, e)).join('; ');
      throw new CliError(`refusing to ${verb} encrypt key ${kid}: recorded places this connection cannot walk: ${where}. Point the command at each (--table) and run it again`, 1, 'key_state');
    }
    const usages = await usageOf(plan);
    const places = usages.map((u) => ({ place: u.target.label, records: u.records, underKey: u.usage[kid] ?? 0 }));
    const underKey = places.reduce((n, p) => n + p.underKey, 0);
    if (underKey > 0) {
      const list = places.filter((p) => p.underKey > 0).map((p) => `${p.underKey} in ${p.place}`).join('; ');
      throw new CliError(
        `refusing to ${verb} encrypt key ${kid}: ${underKey} live record(s) are still sealed under it (${list}). Run \`sealed-session rekey\` (it re-seals sessions and MCP events) and try again`,
        1,
        'key_state',
      );
    }
    if (places.every((p) => p.records === 0)) {
      throw new CliError(
        `refusing to ${verb} encrypt key ${kid}: the walk opened nothing (${places.map((p) => p.place).join('; ')} ${places.length === 1 ? 'is' : 'are'} empty${plan.registry ? ', and no other namespace is recorded' : ''}). The namespace or prefix probably differs from the application's: set SSS_NAMESPACE / --namespace (and --prefix or --table) as the application does`,
        1,
        'key_state',
      );
    }
    return { places };
  } finally {
    await created.close();
  }
}

/** The warning a forced retire / destroy of an encrypt key prints (stderr, also in --json mode). */
export function warnForced(out: Output, kid: string, verb: GuardedVerb): void {
  out.note(
    `WARNING: --force: ${verb === 'destroy' ? 'destroying' : 'retiring'} encrypt key ${kid} WITHOUT counting what is sealed under it. Every session and MCP event still sealed under ${kid} becomes unreadable${verb === 'destroy' ? ' FOR GOOD (destroy cannot be undone)' : ' until the key is reactivated'}.`,
  );
}
