/**
 * Issue 16 item 4: `store.rotateKey()` / `retireKey()` return Promises for every keyring (file-backed
 * ones change inside their transaction) and every key change is audited as `rotation`, whether made
 * through the store, through `keyring.transaction`, or picked up by `reload()` from another process.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, secureStore, type AuditEvent } from '../../src/index.js';
import { createFakeClock } from '../../src/testing/clock.js';
import { tempDir } from '../cli/helpers.js';

let dir: string;
let remove: () => Promise<void>;
beforeAll(async () => {
  ({ dir, remove } = await tempDir());
});
afterAll(async () => remove());

async function fileStore(name: string) {
  const clock = createFakeClock(1_700_000_000_000);
  const path = join(dir, name);
  const keyring = await Keyring.fromFile(path, { insecureCleartext: true, createIfMissing: true, now: clock.now });
  const events: AuditEvent[] = [];
  const store = secureStore(new MemoryStore({ now: clock.now }), { keyring, now: clock.now, onEvent: (e) => events.push(e) });
  return { path, keyring, store, events, clock };
}

describe('rotateKey / retireKey on a file-backed keyring', () => {
  it('rotateKey resolves the new primary, saved to the file, and emits one rotation event', async () => {
    const { path, keyring, store, events } = await fileStore('rotate.json');
    const old = keyring.primary('encrypt').kid;
    const promise = store.rotateKey('encrypt');
    expect(promise).toBeInstanceOf(Promise);
    const info = await promise;
    expect(info).toMatchObject({ purpose: 'encrypt', status: 'primary' });
    expect(keyring.primary('encrypt').kid).toBe(info.kid);
    expect(keyring.get(old)?.status).toBe('active');
    // Saved: a second keyring over the same file sees it.
    const other = await Keyring.fromFile(path, { insecureCleartext: true });
    expect(other.primary('encrypt').kid).toBe(info.kid);
    expect(events).toEqual([{ type: 'rotation', operation: 'rotateKey', kid: info.kid }]);
    await store.close();
  });

  it('retireKey counts the sessions, retires through the transaction and emits retireKey', async () => {
    const { keyring, store, events } = await fileStore('retire.json');
    const old = keyring.primary('encrypt').kid;
    const id = await store.for({ subject: 'alice' }).create({ n: 1 });
    await store.rotateKey('encrypt');
    await expect(store.retireKey(old)).rejects.toMatchObject({ code: 'key_state' });
    await store.rekey();
    await store.retireKey(old);
    expect(keyring.get(old)?.status).toBe('retired');
    expect(events.filter((e) => e.type === 'rotation').map((e) => e.operation)).toEqual(['rotateKey', 'retireKey']);
    expect(await store.for({ subject: 'alice' }).load(id)).toEqual({ n: 1 });
    await store.close();
  });

  it('an in-memory keyring rotates before the promise settles (callers that do not await still see it)', async () => {
    const keyring = Keyring.generate();
    const store = secureStore(new MemoryStore(), { keyring });
    const before = keyring.primary('sign').kid;
    const pending = store.rotateKey('sign');
    expect(keyring.primary('sign').kid).not.toBe(before);
    expect((await pending).kid).toBe(keyring.primary('sign').kid);
    await store.close();
  });
});

describe('rotation events however the keys changed', () => {
  it('keyring.transaction (rotate, promote, retire, reactivate, destroy) emits one event per change', async () => {
    const { keyring, store, events } = await fileStore('tx.json');
    const old = keyring.primary('hash').kid;
    const added = await keyring.transaction((r) => r.rotate('hash', { activate: false }));
    await keyring.transaction((r) => r.promote(added.kid));
    await keyring.transaction((r) => r.retire(old, { force: true }));
    await keyring.transaction((r) => r.reactivate(old));
    await keyring.transaction((r) => {
      r.retire(old, { force: true });
      r.destroy(old);
    });
    expect(events.map((e) => [e.operation, e.kid])).toEqual([
      ['rotateKey', added.kid],
      ['promoteKey', added.kid],
      ['retireKey', old],
      ['reactivateKey', old],
      ['destroyKey', old],
    ]);
    expect(events.every((e) => e.type === 'rotation')).toBe(true);
    await store.close();
  });

  it('a change made by another process is audited when reload() picks it up; nothing after close()', async () => {
    const { path, keyring, store, events } = await fileStore('reload.json');
    const elsewhere = await Keyring.fromFile(path, { insecureCleartext: true });
    const info = await elsewhere.transaction((r) => r.rotate('encrypt'));
    expect(events).toEqual([]);
    expect(await keyring.reload()).toBe(true);
    expect(events).toEqual([{ type: 'rotation', operation: 'rotateKey', kid: info.kid }]);
    await store.close();
    await elsewhere.transaction((r) => r.rotate('sign'));
    await keyring.reload();
    expect(events).toHaveLength(1);
  });
});
