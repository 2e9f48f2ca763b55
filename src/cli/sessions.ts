/**
 * `sealed-session usage` and `sealed-session inspect`: what the store holds, for an administrator.
 * Both open the store with lazy re-encryption off: looking must never write.
 */
import type { Command } from 'commander';
import { ExpiredError, NotFoundError, isSessionStoreError } from '../internal.js';
import { CliError, type CliIo, Output, UsageError, iso } from './io.js';
import { type StoreOptions, addStoreOptions, openStore } from './options.js';

export const INSPECT_FLAG = 'i-understand-this-prints-session-data';

export function registerSessionCommands(program: Command, io: CliIo): void {
  addStoreOptions(program.command('usage').description('count live sessions per encryption key (which keys are still needed)')).action(
    async (opts: StoreOptions) => {
      const out = new Output(io, opts.json === true);
      const created = await openStore(opts, io, { lazyReencrypt: false });
      try {
        const usage = await created.store.keyUsage();
        const keys = created.keyring.list().filter((k) => k.purpose === 'encrypt');
        const rows: Array<{ kid: string; status: string; sessions: number }> = keys.map((k) => ({ kid: k.kid, status: k.status, sessions: usage[k.kid] ?? 0 }));
        for (const [kid, n] of Object.entries(usage)) {
          if (!rows.some((r) => r.kid === kid)) rows.push({ kid, status: kid === 'plaintext' || kid === 'invalid' ? kid : 'not in keyset', sessions: n });
        }
        out.table([['KID', 'STATUS', 'SESSIONS'], ...rows.map((r) => [r.kid, r.status, String(r.sessions)])]);
        out.result({ ok: true, usage, keys: rows });
      } finally {
        await created.close();
      }
    },
  );

  addStoreOptions(
    program
      .command('inspect')
      .description(`decrypt ONE session for an administrator and print its owner hash, key id, expiry and state (needs --${INSPECT_FLAG})`)
      .argument('<id>', 'session id')
      .option(`--${INSPECT_FLAG}`, 'confirm that session data (possibly personal data) will be printed'),
  ).action(async (id: string, opts: StoreOptions & { iUnderstandThisPrintsSessionData?: boolean }) => {
    const out = new Output(io, opts.json === true);
    if (opts.iUnderstandThisPrintsSessionData !== true) {
      throw new UsageError(`inspect prints decrypted session data; add --${INSPECT_FLAG} to confirm`);
    }
    const created = await openStore(opts, io, { lazyReencrypt: false });
    try {
      let inspected;
      try {
        inspected = await created.store.inspect(id);
      } catch (err) {
        if (err instanceof NotFoundError) throw new CliError(`no session ${id}`, 1, 'not_found');
        if (err instanceof ExpiredError) throw new CliError(`session ${id} has expired`, 1, 'expired');
        if (isSessionStoreError(err)) throw new CliError(`session ${id} cannot be opened: ${err.code} (${err.message})`, 1, err.code);
        throw err;
      }
      const now = (io.now ?? Date.now)();
      const { meta } = inspected;
      const status = Math.min(meta.expiresAt, meta.absoluteAt) <= now ? 'expired' : 'active';
      const fields: Array<[string, string]> = [
        ['id', id],
        ['status', status],
        ['kid', inspected.kid ?? '(plaintext record)'],
        ['owner hash', meta.owner ?? '(none)'],
        ['owner hash kid', meta.ownerKid ?? '(none)'],
        ['created', iso(meta.createdAt)],
        ['expires (idle)', iso(meta.expiresAt)],
        ['absolute deadline', iso(meta.absoluteAt)],
        ['state', JSON.stringify(inspected.state)],
      ];
      out.table(fields.map(([k, v]) => [`${k}:`, v]));
      out.result({
        ok: true,
        id,
        status,
        kid: inspected.kid ?? null,
        ownerHash: meta.owner ?? null,
        ownerKid: meta.ownerKid ?? null,
        createdAt: iso(meta.createdAt),
        expiresAt: iso(meta.expiresAt),
        absoluteAt: iso(meta.absoluteAt),
        state: inspected.state,
      });
    } finally {
      await created.close();
    }
  });
}
