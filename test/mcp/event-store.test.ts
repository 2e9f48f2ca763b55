/**
 * The encrypted per-session event store on its own: sequence across "instances" (two logs over one
 * backend), the per-session cap, cross-session refusal, deletion with the session, sealing.
 */
import { describe, expect, it } from 'vitest';
import { Keyring, MemoryStore } from '../../src/index.js';
import { McpEventLog, sessionEventTag } from '../../src/mcp/event-store.js';

const msg = (n: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/message', params: { level: 'info', data: `secret-${n}` } });
const later = Date.now() + 3_600_000;

function setup(max = 5) {
  const backend = new MemoryStore();
  const keyring = Keyring.generate();
  const a = new McpEventLog({ backend, keyring, namespace: 'ns:events', maxEventsPerSession: max });
  const b = new McpEventLog({ backend, keyring, namespace: 'ns:events', maxEventsPerSession: max });
  return { backend, keyring, a, b };
}

async function replay(store: ReturnType<McpEventLog['forSession']>, after: string) {
  const got: Array<[string, unknown]> = [];
  const stream = await store.replayEventsAfter(after, { send: async (id, m) => void got.push([id, m]) });
  return { stream, got };
}

describe('McpEventLog', () => {
  it('costs 3 backend round trips per event, 4 once past the cap (the figures docs/mcp.md gives)', async () => {
    const backend = new MemoryStore();
    const calls: string[] = [];
    const counted = new Proxy(backend, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (prop === 'loadRecord' || prop === 'saveRecord' || prop === 'deleteRecord') calls.push(prop);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const log = new McpEventLog({ backend: counted, keyring: Keyring.generate(), namespace: 'ns:events', maxEventsPerSession: 2 });
    const s = log.forSession('sid-cost', later);
    const perEvent: string[][] = [];
    for (let i = 1; i <= 3; i++) {
      calls.length = 0;
      await s.storeEvent('_GET_stream', msg(i));
      perEvent.push([...calls]);
    }
    expect(perEvent).toEqual([
      ['loadRecord', 'saveRecord', 'saveRecord'],
      ['loadRecord', 'saveRecord', 'saveRecord'],
      ['loadRecord', 'saveRecord', 'saveRecord', 'deleteRecord'],
    ]);
  });

  it('continues the sequence on another instance and replays only the stream of the event id', async () => {
    const { a, b } = setup(100);
    const onA = a.forSession('sid-1', later);
    const e1 = await onA.storeEvent('_GET_stream', msg(1));
    await onA.storeEvent('post-1', msg(2));
    const onB = b.forSession('sid-1', later);
    const e3 = await onB.storeEvent('_GET_stream', msg(3));
    expect(e1).toBe(`${sessionEventTag('sid-1')}.1`);
    expect(e3).toBe(`${sessionEventTag('sid-1')}.3`);
    expect(await onB.getStreamIdForEventId(e1)).toBe('_GET_stream');
    const { stream, got } = await replay(onB, e1);
    expect(stream).toBe('_GET_stream');
    expect(got).toEqual([[e3, msg(3)]]);
  });

  it('keeps at most maxEventsPerSession (oldest dropped) and deletes everything with the session', async () => {
    const { a, backend } = setup(5);
    const s = a.forSession('sid-2', later);
    const ids = [];
    for (let i = 1; i <= 8; i++) ids.push(await s.storeEvent('_GET_stream', msg(i)));
    const stored = (await backend.listActive()).ids.filter((id) => id !== 'ev.sid-2.n').sort();
    expect(stored).toEqual(['ev.sid-2.4', 'ev.sid-2.5', 'ev.sid-2.6', 'ev.sid-2.7', 'ev.sid-2.8']);
    expect(await s.getStreamIdForEventId(ids[1]!)).toBeUndefined(); // dropped: cannot resume from it
    expect((await replay(s, ids[3]!)).got.map(([id]) => id)).toEqual(ids.slice(4));
    await a.deleteSession('sid-2');
    expect((await backend.listActive()).ids).toEqual([]);
  });

  it("refuses another session's event ids and malformed ids", async () => {
    const { a } = setup();
    const one = a.forSession('sid-A', later);
    const two = a.forSession('sid-B', later);
    const e = await one.storeEvent('_GET_stream', msg(1));
    await two.storeEvent('_GET_stream', msg(2));
    expect(await two.getStreamIdForEventId(e)).toBeUndefined();
    await expect(replay(two, e)).rejects.toMatchObject({ code: 'invalid_input' });
    for (const bad of ['', '1', `${sessionEventTag('sid-B')}.0`, `${sessionEventTag('sid-B')}.01`, `${sessionEventTag('sid-B')}.x`, 'a'.repeat(5000)]) {
      expect(await two.getStreamIdForEventId(bad)).toBeUndefined();
    }
  });

  it('stores events sealed, and nothing while suppressed (a restore replaying initialize)', async () => {
    const { a, backend } = setup();
    const s = a.forSession('sid-3', later);
    await s.storeEvent('_GET_stream', msg(42));
    s.suppressed = true;
    const fake = await s.storeEvent('_GET_stream', msg(43));
    expect(await s.getStreamIdForEventId(fake)).toBeUndefined();
    const rec = await backend.loadRecord('ev.sid-3.1');
    expect(rec?.value).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(rec!.value as Uint8Array).includes(Buffer.from('secret-42'))).toBe(false);
    expect((await backend.listActive()).ids.sort()).toEqual(['ev.sid-3.1', 'ev.sid-3.n']);
  });

  it('stores the wire form (undefined members dropped) and never blocks delivery on a failed write', async () => {
    const { a, backend, keyring } = setup();
    const s = a.forSession('sid-4', later);
    const first = await s.storeEvent('_GET_stream', msg(1));
    const withHoles = { jsonrpc: '2.0' as const, id: 3, result: { tools: [{ name: 't', description: undefined }] } };
    const e = await s.storeEvent('_GET_stream', withHoles as never);
    expect((await replay(s, first)).got).toEqual([[e, { jsonrpc: '2.0', id: 3, result: { tools: [{ name: 't' }] } }]]);
    const errors: unknown[] = [];
    const broken = Object.create(backend) as MemoryStore;
    broken.saveRecord = () => Promise.reject(new Error('down'));
    const log = new McpEventLog({ backend: broken, keyring, namespace: 'ns:events', onError: (err) => errors.push(err) });
    const id = await log.forSession('sid-5', later).storeEvent('_GET_stream', msg(9));
    expect(id.endsWith('.unsaved')).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it('re-keys its events under a new primary and counts them per key, apart from the sessions', async () => {
    const { a, keyring } = setup(100);
    const s = a.forSession('sid-6', later);
    const first = await s.storeEvent('_GET_stream', msg(1));
    await s.storeEvent('_GET_stream', msg(2));
    const old = keyring.primary('encrypt').kid;
    expect(await a.keyUsage()).toEqual({ [old]: 3 }); // two events and the counter
    const fresh = keyring.rotate('encrypt').kid;
    expect(await a.rekey({ batchSize: 2 })).toMatchObject({ scanned: 3, resealed: 3, failed: 0, done: true });
    expect(await a.keyUsage()).toEqual({ [fresh]: 3 });
    keyring.retire(old, { force: true });
    expect((await replay(s, first)).got).toEqual([[`${sessionEventTag('sid-6')}.2`, msg(2)]]);
    await expect(a.rekey({ concurrency: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
