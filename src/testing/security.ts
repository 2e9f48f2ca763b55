/**
 * The security suite: one test per threat, run on secured stacks (`secureStore` over any backend).
 * Like the contract suite it takes a factory and imports only the public API; it reads sealed
 * envelopes by the byte layout SECURITY.md documents, as an attacker with database access would.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  type Owner,
  type RecordStore,
  type SecureStore,
  type SessionState,
  isSessionStoreError,
} from '../internal.js';
import { createFakeClock, type FakeClock } from './clock.js';
import { expectCode, sampleState } from './helpers.js';

export interface SecureStackContext {
  now: () => number;
  /** Where the stack must send audit events (the suite checks some). */
  onEvent: (event: AuditEvent) => void;
}

export interface SecureStack {
  store: SecureStore;
  /** The backend under the stack, as an attacker with database access sees it. */
  backend: RecordStore;
  /** A new `SecureStore` over the same backend and keys, as after a process restart. */
  reopen(): Promise<SecureStore>;
}

export type SecureStackFactory = (ctx: SecureStackContext) => Promise<SecureStack>;

export interface SecuritySuiteOptions {
  skip?: string | undefined;
  teardown?: (stack: SecureStack) => void | Promise<void>;
}

const MINUTE = 60_000;
const alice: Owner = { subject: 'alice', clientId: 'client-1' };
const mallory: Owner = { subject: 'mallory', clientId: 'client-1' };

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function fromB64url(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

/** The nonce of an envelope, read by the documented layout: version, alg, kid length, kid, nonce. */
function nonceOf(envelope: Uint8Array): string {
  const kidLength = envelope[2]!;
  const nonceLength = envelope[1] === 0x03 ? 24 : 12;
  return b64url(envelope.subarray(3 + kidLength, 3 + kidLength + nonceLength));
}

function kidOf(envelope: Uint8Array): string {
  return Buffer.from(envelope.subarray(3, 3 + envelope[2]!)).toString('latin1');
}

/** Re-signs a compact JWS with `key` after editing its header/payload JSON (an attacker who knows a key). */
async function hmac(key: Uint8Array, input: string): Promise<Uint8Array> {
  const { createHmac } = await import('node:crypto');
  return new Uint8Array(createHmac('sha256', key).update(input).digest());
}

/** The same bytes in non-canonical base64url: the lowest unused bit of the last character set. */
function respell(s: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  if (s.length % 4 === 0) throw new Error('no unused bits to set');
  const last = alphabet.indexOf(s[s.length - 1]!);
  return s.slice(0, -1) + alphabet[last | 1]!;
}

function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function runSecuritySuite(name: string, factory: SecureStackFactory, options: SecuritySuiteOptions = {}): void {
  describe.skipIf(options.skip !== undefined)(`security suite: ${name}`, () => {
    let clock: FakeClock;
    let stack: SecureStack;
    let events: AuditEvent[];

    beforeEach(async () => {
      clock = createFakeClock(Date.UTC(2030, 0, 1));
      events = [];
      stack = await factory({ now: () => clock.now(), onEvent: (e) => events.push(e) });
      await stack.store.start();
    });

    afterEach(async () => {
      await stack.store.close();
      await options.teardown?.(stack);
    });

    const raw = async (id: string): Promise<Uint8Array> => {
      const rec = await stack.backend.loadRecord(id);
      if (rec === undefined || !(rec.value instanceof Uint8Array)) throw new Error('backend does not hold an envelope for this id');
      return rec.value;
    };

    const put = async (id: string, envelope: Uint8Array, expiresAt = clock.now() + 100 * MINUTE) => {
      await stack.backend.saveRecord(id, envelope, { expiresAt });
    };

    it('ids cannot be guessed or enumerated: 192-bit CSPRNG ids, and a guess finds nothing', async () => {
      const scoped = stack.store.for(alice);
      const ids = new Set<string>();
      for (let i = 0; i < 200; i++) ids.add(await scoped.create({ i }, { ttlMs: MINUTE }));
      expect(ids.size).toBe(200);
      for (const id of ids) {
        expect(id).toMatch(/^[A-Za-z0-9_-]{32,}$/);
        expect(fromB64url(id).length).toBeGreaterThanOrEqual(16);
      }
      await expectCode(scoped.load(b64url(new Uint8Array(24).fill(7))), 'not_found');
    });

    it('hijack on reconnect: another owner’s token or id gets nothing', async () => {
      const id = await stack.store.for(alice).create({ secret: 'alice-data' }, { ttlMs: MINUTE });
      const token = stack.store.issueToken(id, alice);
      await expect(stack.store.resume(token, alice)).resolves.toEqual({ sessionId: id, state: { secret: 'alice-data' } });
      await expectCode(stack.store.resume(token, mallory), 'owner_mismatch');
      // The token's own owner binding, before any session is read.
      await expectCode(Promise.resolve().then(() => stack.store.verifyToken(token, mallory)), 'owner_mismatch');
      await expectCode(stack.store.for(mallory).load(id), 'owner_mismatch');
      await expectCode(stack.store.for({ subject: 'alice', clientId: 'other-client' }).load(id), 'owner_mismatch');
      expect(events.some((e) => e.type === 'owner_mismatch')).toBe(true);
      expect(JSON.stringify(events)).not.toContain(id);
    });

    it('no operation of a stranger touches another owner’s session', async () => {
      const id = await stack.store.for(alice).create({ a: 1 }, { ttlMs: MINUTE });
      const m = stack.store.for(mallory);
      await expectCode(m.save(id, { taken: true }, { ttlMs: MINUTE }), 'owner_mismatch');
      await expectCode(m.update(id, { a: 2 }), 'owner_mismatch');
      await expectCode(m.updateTtl(id, 100 * MINUTE), 'owner_mismatch');
      await expectCode(m.delete(id), 'owner_mismatch');
      await expectCode(m.regenerate(id), 'owner_mismatch');
      expect(await stack.store.for(alice).load(id)).toEqual({ a: 1 });
      clock.advance(MINUTE);
      // Not even an expired session of someone else can be taken over by saving over its id.
      await expectCode(m.save(id, { taken: true }, { ttlMs: MINUTE }), 'owner_mismatch');
    });

    it('a save on a version this process saw never takes over a session another process re-created', async () => {
      // This process sees alice's session (and so knows its version); another process then deletes
      // it and mallory saves her own session under the same id. Alice's save here must find out.
      const id = 'shared-id-for-a-takeover-test';
      await stack.store.for(alice).save(id, { owner: 'alice' }, { ttlMs: MINUTE });
      expect(await stack.store.for(alice).load(id)).toEqual({ owner: 'alice' });
      const other = await stack.reopen();
      try {
        await other.for(alice).delete(id);
        await other.for(mallory).save(id, { owner: 'mallory' }, { ttlMs: MINUTE });
        await expectCode(stack.store.for(alice).save(id, { owner: 'alice again' }, { ttlMs: MINUTE }), 'owner_mismatch');
        expect(await stack.store.for(mallory).load(id)).toEqual({ owner: 'mallory' });
      } finally {
        await other.close();
      }
    });

    it('a save on a version this process saw keeps the deadlines of the session as it is now', async () => {
      // Alice's session is re-created by another process: it has a new creation time and absolute
      // deadline. A save here must carry those, not the ones this process saw before.
      const id = 'shared-id-for-a-deadline-test';
      const absolute = stack.store.ttl.absoluteMs;
      await stack.store.for(alice).save(id, { v: 1 }, { ttlMs: absolute });
      clock.advance(absolute - 10 * MINUTE);
      expect(await stack.store.for(alice).load(id)).toEqual({ v: 1 });
      const other = await stack.reopen();
      try {
        await other.for(alice).delete(id);
        await other.for(alice).save(id, { v: 2 }, { ttlMs: 30 * MINUTE });
        await stack.store.for(alice).save(id, { v: 3 }, { ttlMs: 30 * MINUTE });
        // Past the first session's absolute deadline, the re-created one still lives.
        clock.advance(20 * MINUTE);
        expect(await stack.store.for(alice).load(id)).toEqual({ v: 3 });
      } finally {
        await other.close();
      }
    });

    it('an envelope swapped to another session id fails integrity', async () => {
      const scoped = stack.store.for(alice);
      const a = await scoped.create({ who: 'a' }, { ttlMs: MINUTE });
      const b = await scoped.create({ who: 'b' }, { ttlMs: MINUTE });
      await put(b, await raw(a));
      await expectCode(scoped.load(b), 'integrity');
      expect(events.some((e) => e.type === 'integrity')).toBe(true);
    });

    it('kid confusion: an envelope relabelled with another valid kid never opens', async () => {
      const scoped = stack.store.for(alice);
      const id = await scoped.create({ a: 1 }, { ttlMs: MINUTE });
      const envelope = await raw(id);
      for (const info of stack.store.keyring.list()) {
        if (info.kid.length !== envelope[2] || info.kid === kidOf(envelope)) continue;
        const relabelled = envelope.slice();
        relabelled.set(Buffer.from(info.kid, 'latin1'), 3);
        await put(id, relabelled);
        const err = await scoped.load(id).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isSessionStoreError(err, 'integrity') || isSessionStoreError(err, 'unknown_key')).toBe(true);
      }
    });

    it('truncated, extended and malformed envelopes never open', async () => {
      const scoped = stack.store.for(alice);
      const id = await scoped.create({ a: 1 }, { ttlMs: MINUTE });
      const envelope = await raw(id);
      const variants: Uint8Array[] = [new Uint8Array(0), new Uint8Array([1]), envelope.subarray(0, envelope.length - 1), envelope.subarray(0, 20)];
      const extended = new Uint8Array(envelope.length + 1);
      extended.set(envelope);
      variants.push(extended);
      const flipped = envelope.slice();
      flipped[envelope.length - 1]! ^= 1;
      variants.push(flipped);
      for (const v of variants) {
        await put(id, v);
        const err = await scoped.load(id).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isSessionStoreError(err, 'integrity') || isSessionStoreError(err, 'unknown_key')).toBe(true);
      }
    });

    it('every write uses a fresh nonce (saves, updates, TTL changes)', async () => {
      const scoped = stack.store.for(alice);
      const id = await scoped.create({ n: 0 }, { ttlMs: MINUTE });
      const nonces = new Set<string>([nonceOf(await raw(id))]);
      for (let i = 1; i <= 30; i++) {
        if (i % 3 === 0) await scoped.save(id, { n: i }, { ttlMs: MINUTE });
        else if (i % 3 === 1) await scoped.update(id, { n: i });
        else await scoped.updateTtl(id, MINUTE + i);
        nonces.add(nonceOf(await raw(id)));
      }
      expect(nonces.size).toBe(31);
    });

    it('an envelope restored from an old backup stays expired, whatever the backend’s own TTL says', async () => {
      const scoped = stack.store.for(alice);
      const id = await scoped.create({ v: 'old' }, { ttlMs: MINUTE });
      const backup = await raw(id);
      clock.advance(2 * MINUTE);
      await expectCode(scoped.load(id), 'expired');
      // The attacker restores the envelope with a backend expiry far in the future.
      await put(id, backup, clock.now() + 1000 * MINUTE);
      await expectCode(scoped.load(id), 'expired');
    });

    it('a backend that never expires cannot keep a session alive (TTL bypass)', async () => {
      const scoped = stack.store.for(alice);
      const id = await scoped.create({ a: 1 }, { ttlMs: MINUTE });
      const envelope = await raw(id);
      clock.advance(MINUTE + 1);
      await put(id, envelope, clock.now() + 10_000 * MINUTE);
      await expectCode(scoped.load(id), 'expired');
      await expectCode(scoped.update(id, { a: 2 }), 'expired');
      await expectCode(scoped.updateTtl(id, MINUTE), 'expired');
    });

    it('the absolute deadline never moves', async () => {
      const scoped = stack.store.for(alice);
      const id = await scoped.create({ a: 1 }, { ttlMs: 30 * MINUTE });
      const absolute = stack.store.ttl.absoluteMs;
      for (let t = 0; t < absolute; t += 20 * MINUTE) {
        clock.advance(20 * MINUTE);
        if (clock.now() - Date.UTC(2030, 0, 1) >= absolute) break;
        await scoped.updateTtl(id, 10 * 60 * MINUTE);
        await scoped.save(id, { a: 2 }, { ttlMs: 10 * 60 * MINUTE });
      }
      // The backend's own expiry (the space hint) never passes the deadline either.
      expect((await stack.backend.loadRecord(id))!.expiresAt).toBeLessThanOrEqual(Date.UTC(2030, 0, 1) + absolute);
      clock.set(Date.UTC(2030, 0, 1) + absolute);
      await expectCode(scoped.load(id), 'expired');
    });

    it('revocation ("log out everywhere") kills existing sessions and survives a restart', async () => {
      const scoped = stack.store.for(alice);
      const before = await scoped.create({ a: 1 }, { ttlMs: MINUTE });
      const other = await stack.store.for(mallory).create({ m: 1 }, { ttlMs: MINUTE });
      clock.advance(1);
      await stack.store.revokeOwner('alice');
      await expectCode(scoped.load(before), 'expired');
      const restarted = await stack.reopen();
      try {
        await expectCode(restarted.for(alice).load(before), 'expired');
        expect(await restarted.for(mallory).load(other)).toEqual({ m: 1 });
        clock.advance(1);
        const after = await restarted.for(alice).create({ fresh: true }, { ttlMs: MINUTE });
        expect(await restarted.for(alice).load(after)).toEqual({ fresh: true });
      } finally {
        await restarted.close();
      }
    });

    it('forged, re-signed, alg:none, other-algorithm and wrong-typ tokens are refused', async () => {
      const id = await stack.store.for(alice).create({ a: 1 }, { ttlMs: MINUTE });
      const token = stack.store.issueToken(id, alice);
      const [h, p, s] = token.split('.') as [string, string, string];
      const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      const bad: string[] = [
        `${h}.${segment({ ...claims, sid: 'other' })}.${s}`,
        `${segment({ ...header, alg: 'none' })}.${p}.`,
        `${segment({ ...header, alg: 'none' })}.${p}.${s}`,
        `${segment({ ...header, alg: 'HS512' })}.${p}.${s}`,
        `${segment({ ...header, alg: 'RS256' })}.${p}.${s}`,
        `${segment({ ...header, typ: 'JWT' })}.${p}.${s}`,
        `${segment({ ...header, crit: ['exp'] })}.${p}.${s}`,
        `${h}.${p}.${s}=`,
        `${h} .${p}.${s}`,
        `${h}.${p}.${s}.`,
        `${h}.${p}`,
        token.toUpperCase(),
        '',
      ];
      // An attacker who holds a non-signing key (kid confusion) still cannot sign.
      for (const info of stack.store.keyring.list()) {
        if (info.purpose === 'sign' || info.status === 'destroyed') continue;
        const forgedHeader = segment({ ...header, kid: info.kid });
        const key = stack.store.keyring.keyFor(info.purpose, info.kid);
        bad.push(`${forgedHeader}.${p}.${b64url(await hmac(key, `${forgedHeader}.${p}`))}`);
      }
      for (const t of bad) await expectCode(stack.store.resume(t, alice), 'invalid_token');
      expect(events.some((e) => e.type === 'invalid_token')).toBe(true);
    });

    it('with the real signing key: another typ or extra header fields are refused, field order is not', async () => {
      const id = await stack.store.for(alice).create({ a: 1 }, { ttlMs: MINUTE });
      const [h, p] = stack.store.issueToken(id, alice).split('.') as [string, string, string];
      const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string; typ: string; kid: string };
      const key = stack.store.keyring.keyFor('sign', header.kid);
      const signWith = async (hdr: unknown) => {
        const enc = segment(hdr);
        return `${enc}.${p}.${b64url(await hmac(key, `${enc}.${p}`))}`;
      };
      // A token of another kind signed by the same key (typ confusion), or with parameters we do not understand.
      await expectCode(stack.store.resume(await signWith({ ...header, typ: 'JWT' }), alice), 'invalid_token');
      await expectCode(stack.store.resume(await signWith({ ...header, crit: ['b64'], b64: false }), alice), 'invalid_token');
      await expectCode(stack.store.resume(await signWith({ alg: header.alg, kid: header.kid }), alice), 'invalid_token');
      // The same fields in another order are the same header: accepted.
      const reordered = await signWith({ kid: header.kid, typ: header.typ, alg: header.alg });
      await expect(stack.store.resume(reordered, alice)).resolves.toEqual({ sessionId: id, state: { a: 1 } });
      // Another spelling of the same bytes (unused low bits set), even signed with the real key, is
      // refused: no token has two valid forms, and an owner hash spelled otherwise is not the owner.
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      let text = JSON.stringify(claims);
      while (text.length % 3 !== 1) text += ' '; // base64url length 2 mod 4: four unused bits at the end
      const loose = respell(Buffer.from(text).toString('base64url'));
      await expectCode(stack.store.resume(`${h}.${loose}.${b64url(await hmac(key, `${h}.${loose}`))}`, alice), 'invalid_token');
      const p2 = segment({ ...claims, oh: respell(claims.oh as string) });
      await expectCode(stack.store.resume(`${h}.${p2}.${b64url(await hmac(key, `${h}.${p2}`))}`, alice), 'owner_mismatch');
    });

    it('a token past its exp is expired even when the session would still live', async () => {
      const id = await stack.store.for(alice).create({ a: 1 }, { ttlMs: 100 * MINUTE });
      const token = stack.store.issueToken(id, alice, { expiresAt: clock.now() + MINUTE });
      clock.advance(2 * MINUTE);
      await expectCode(stack.store.resume(token, alice), 'expired');
    });

    it('`__proto__` in states and partials never reaches a prototype', async () => {
      const scoped = stack.store.for(alice);
      const id = await scoped.create(JSON.parse('{"__proto__": {"isAdmin": true}}') as SessionState, { ttlMs: MINUTE });
      await scoped.update(id, JSON.parse('{"__proto__": {"polluted": true}}') as SessionState);
      const state = await scoped.load(id);
      expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
      expect((state as Record<string, unknown>).isAdmin).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('oversized states are refused before any encryption', async () => {
      const before = stack.store.stats().encryptions;
      const big = { blob: 'x'.repeat(2 * 1024 * 1024) };
      await expectCode(stack.store.for(alice).create(big, { ttlMs: MINUTE }), 'payload_too_large');
      expect(stack.store.stats().encryptions).toEqual(before);
    });

    it('50 concurrent updates through the full stack lose none', async () => {
      const scoped = stack.store.for(alice);
      const id = await scoped.create(sampleState(), { ttlMs: MINUTE });
      await Promise.all(Array.from({ length: 50 }, (_, i) => scoped.update(id, { [`f${i}`]: i })));
      const state = await scoped.load(id);
      for (let i = 0; i < 50; i++) expect(state[`f${i}`]).toBe(i);
    });

    it('update racing delete never resurrects a session', async () => {
      const scoped = stack.store.for(alice);
      for (let round = 0; round < 10; round++) {
        const id = await scoped.create({ a: 0 }, { ttlMs: MINUTE });
        await Promise.allSettled([scoped.update(id, { a: 1 }), scoped.delete(id), scoped.update(id, { b: 1 })]);
        await expectCode(scoped.load(id), 'not_found');
      }
    });

    it('the backend holds no plaintext of states, owners or session ids', async () => {
      const scoped = stack.store.for(alice);
      const id = await scoped.create({ marker: 'PLAINTEXT-MARKER-123' }, { ttlMs: MINUTE });
      const text = Buffer.from(await raw(id)).toString('latin1');
      expect(text).not.toContain('PLAINTEXT-MARKER-123');
      expect(text).not.toContain('alice');
      expect(text).not.toContain(id);
    });
  });
}
