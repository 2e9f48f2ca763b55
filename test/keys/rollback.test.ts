/**
 * A reloaded keyset must be a successor of the one in use (keyring-source.ts, refuseRollback):
 * someone who can write the keyset's storage but not its key-encryption key can still put back an
 * older wrapped copy. Reloading it would drop the newer keys and revive destroyed ones, so it is
 * refused, the keys in use are kept, and the failure is reported like any failed reload.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, passphraseProvider } from 'sealed-session-store';

const dir = mkdtempSync(path.join(tmpdir(), 'sss-rollback-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const status = (ring: Keyring) => Object.fromEntries(ring.list().map((k) => [k.kid, k.status]));

describe('a keyset rolled back to an older copy is refused on reload', () => {
  it('keyset file: an older copy put back (a newer key missing) is key_state; the ring keeps its keys', async () => {
    const file = path.join(dir, 'k.json');
    const ring = await Keyring.fromFile(file, { insecureCleartext: true, createIfMissing: true, follow: false });
    const before = readFileSync(file, 'utf8');
    const added = await ring.transaction((m) => m.rotate('encrypt'));
    const held = status(ring);
    writeFileSync(file, before); // the attacker's (or a careless restore's) older copy
    await expect(ring.reload()).rejects.toMatchObject({ code: 'key_state', message: expect.stringContaining(added.kid) });
    expect(status(ring)).toEqual(held);
    expect(ring.primary('encrypt').kid).toBe(added.kid);
    ring.close();
  });

  it('store-held keyset: an older copy revives a destroyed key; refused, reported to follow.onError, keys kept', async () => {
    const store = new MemoryStore();
    const provider = passphraseProvider('rollback test passphrase', { logN: 10, unsafeLowCost: true });
    const ring = await Keyring.fromStore(store, { provider, createIfMissing: true, follow: false });
    const old = ring.primary('encrypt').kid;
    await ring.transaction((m) => m.rotate('encrypt'));
    const snapshot = await store.loadKeysetText();
    await ring.transaction((m) => {
      m.retire(old);
      m.destroy(old);
    });
    // Put the copy from before the destroy back, as someone with write access to the store could.
    const current = await store.loadKeysetText();
    await store.saveKeysetText(snapshot!.text, { ifVersion: current!.version });
    await expect(ring.reload()).rejects.toMatchObject({ code: 'key_state', message: expect.stringContaining(`${old} as active, which was destroyed`) });
    expect(ring.get(old)?.status).toBe('destroyed');
    ring.close();
  });

  it('a successor keyset (a key added and one destroyed elsewhere) still reloads', async () => {
    const file = path.join(dir, 'k2.json');
    const ring = await Keyring.fromFile(file, { insecureCleartext: true, createIfMissing: true, follow: false });
    const other = await Keyring.fromFile(file, { insecureCleartext: true, follow: false });
    const old = ring.primary('encrypt').kid;
    await other.transaction((m) => {
      m.rotate('encrypt');
      m.retire(old);
      m.destroy(old);
    });
    expect(await ring.reload()).toBe(true);
    expect(ring.get(old)?.status).toBe('destroyed');
    ring.close();
    other.close();
  });
});
