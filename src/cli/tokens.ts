/**
 * `sealed-session verify-token`: says whether a session token is valid for an owner, and if not,
 * why (`invalid_token`, `expired`, `owner_mismatch`). Only the keyset is needed; `--check-session`
 * also opens the session in the store (revocation, expiry, owner of the session itself).
 */
import type { Command } from 'commander';
import { isSessionStoreError } from '../internal.js';
import type { Owner } from '../internal.js';
import { SessionTokens } from '../internal.js';
import { CliExit, type CliIo, Output, iso } from './io.js';
import { type StoreOptions, addStoreOptions, openKeyring, openStore } from './options.js';

interface VerifyOptions extends StoreOptions {
  subject: string;
  clientId?: string;
  fingerprint?: string;
  checkSession?: boolean;
}

export function registerTokenCommands(program: Command, io: CliIo): void {
  addStoreOptions(
    program
      .command('verify-token')
      .description('check a session token for an owner: valid, or why not (invalid_token, expired, owner_mismatch)')
      .argument('<token>', 'the compact token')
      .requiredOption('--subject <subject>', 'the owner\'s subject (e.g. the OAuth sub)')
      .option('--client-id <id>', 'the owner\'s client id, if sessions are bound to one')
      .option('--fingerprint <fp>', 'the owner\'s fingerprint, if sessions are bound to one')
      .option('--check-session', 'also open the session in the store (revoked, expired, deleted)'),
  ).action(async (token: string, opts: VerifyOptions) => {
    const out = new Output(io, opts.json === true);
    const owner: Owner = { subject: opts.subject };
    if (opts.clientId !== undefined) owner.clientId = opts.clientId;
    if (opts.fingerprint !== undefined) owner.fingerprint = opts.fingerprint;
    const now = io.now ?? Date.now;
    const invalid = (code: string, reason: string): never => {
      out.line(`invalid: ${code}: ${reason}`);
      out.result({ ok: true, valid: false, code, reason });
      throw new CliExit(1);
    };
    let verified;
    if (opts.checkSession === true) {
      const created = await openStore(opts, io, { lazyReencrypt: false });
      try {
        verified = created.store.tokens.verify(token, owner);
        await created.store.for(owner).load(verified.sessionId);
      } catch (err) {
        if (isSessionStoreError(err)) invalid(err.code, err.message);
        throw err;
      } finally {
        await created.close();
      }
    } else {
      const { keyring } = await openKeyring(opts, io);
      try {
        verified = new SessionTokens(keyring, { now }).verify(token, owner);
      } catch (err) {
        if (isSessionStoreError(err)) invalid(err.code, err.message);
        throw err;
      }
    }
    out.line(`valid: session ${verified.sessionId}, signed by key ${verified.kid}, expires ${iso(verified.expiresAt)}${opts.checkSession === true ? '; the session is live' : ''}`);
    out.result({ ok: true, valid: true, sessionId: verified.sessionId, kid: verified.kid, expiresAt: iso(verified.expiresAt), sessionChecked: opts.checkSession === true });
  });
}
