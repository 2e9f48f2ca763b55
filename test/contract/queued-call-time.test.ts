/**
 * The time bound of a queued call counts from the caller's call: a task that waited behind others
 * on the same id reaches the store below as part of an operation called when it was queued, so a
 * backend's deadline (`operationDeadline`) includes the wait. Deterministic: the wall clock is
 * stubbed and the first call is held on a gate, nothing sleeps.
 */
import { MemoryStore, type RecordValue, type SaveRecordOptions, type StoredRecord } from 'sealed-session-store';
import { KeyedQueue, compareAndSwap } from 'sealed-session-store/kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { operationDeadline, operationStart } from '../../src/util/time.js';

let wall = 1_000;
afterEach(() => vi.restoreAllMocks());

/** A MemoryStore that notes, on entry to each record call, when the operation it serves was called. */
class Recording extends MemoryStore {
  readonly seen: Array<[string, number | undefined]> = [];
  gate: Promise<void> | undefined;

  override async loadRecord(id: string): Promise<StoredRecord | undefined> {
    this.seen.push(['load', operationStart()]);
    const gate = this.gate;
    this.gate = undefined;
    if (gate !== undefined) await gate;
    return super.loadRecord(id);
  }

  override saveRecord(id: string, value: RecordValue, options: SaveRecordOptions): Promise<string> {
    this.seen.push(['save', operationStart()]);
    return super.saveRecord(id, value, options);
  }
}

describe('time queued behind other calls on the same id counts', () => {
  it('a queued update reaches the backend as called when it was queued, for its read and its write', async () => {
    vi.spyOn(Date, 'now').mockImplementation(() => wall);
    const store = new Recording({ now: () => wall });
    await store.save('s', { n: 0 });
    store.seen.length = 0;
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));

    wall = 1_000;
    const first = store.update('s', { n: 1 });
    wall = 2_000;
    const second = store.update('s', { n: 2 });
    await Promise.resolve();
    wall = 9_000; // the first call held the id for 8 s
    open();
    await Promise.all([first, second]);

    expect(store.seen).toEqual([
      ['load', 1_000],
      ['save', 1_000],
      ['load', 2_000],
      ['save', 2_000],
    ]);
    expect(await store.load('s')).toEqual({ n: 2 });
  });

  it('outside any operation a backend counts from now; nested queues keep the outermost call time', async () => {
    vi.spyOn(Date, 'now').mockImplementation(() => wall);
    wall = 5_000;
    expect(operationStart()).toBeUndefined();
    expect(operationDeadline(300)).toBe(5_300);

    const outer = new KeyedQueue();
    const inner = new KeyedQueue();
    let blocker!: () => void;
    const held = outer.run('k', () => new Promise<void>((resolve) => (blocker = resolve)));
    wall = 6_000;
    let sawDeadline: number | undefined;
    const queued = outer.run('k', async () => {
      // Called at 6 000, started at 7 000: a queue below it keeps the earlier call time.
      await inner.run('k', async () => {
        sawDeadline = operationDeadline(300);
      });
    });
    wall = 7_000;
    blocker();
    await Promise.all([held, queued]);
    expect(sawDeadline).toBe(6_300);
    expect(operationStart()).toBeUndefined();
  });

  it('a compare-and-swap loop is one operation: its retries count from its start', async () => {
    vi.spyOn(Date, 'now').mockImplementation(() => wall);
    const store = new Recording({ now: () => wall });
    await store.save('c', { n: 0 });
    store.seen.length = 0;
    wall = 10_000;
    let calls = 0;
    await compareAndSwap(
      store,
      'c',
      async (cur) => {
        calls++;
        wall += 1_000;
        // Lose the first race: someone else writes between our read and our write.
        if (calls === 1) await store.saveRecord('c', { n: 9 }, { expiresAt: wall + 60_000 });
        return { value: { n: (cur?.value as { n: number }).n + 1 }, expiresAt: wall + 60_000 };
      },
      { sleep: async () => {} },
    );
    // The loop's own calls all count from 10 000 (the intruding save inside `next` too).
    expect(store.seen.every(([, start]) => start === 10_000)).toBe(true);
    expect(calls).toBe(2);
  });
});
