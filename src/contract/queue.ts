/**
 * Per-key FIFO queue. Updates of one id inside one process run one after another, so the
 * compare-and-swap retries only ever absorb races with OTHER processes: 50 concurrent updates of
 * one session in one process never exhaust the retry bound.
 *
 * Every write goes through here, so it costs little when nothing waits: a task for an idle key runs
 * at once, and a key's entry lives only while it has work (no promise chain is kept per key).
 *
 * Time spent waiting counts against the task's time bound: a task starts as part of an operation
 * called when `run` was (`asOperationStartedAt`, util/time.ts), so a backend it reaches counts its
 * deadline from the caller's call, not from the task's turn. Behind a stuck head, every waiter then
 * settles within its own bound instead of one bound per caller ahead of it.
 */
import { asOperationStartedAt, operationStart } from '../util/time.js';

interface Line {
  /** Tasks waiting behind the running one, oldest first. */
  waiting: Array<() => void>;
}

export class KeyedQueue {
  private readonly lines = new Map<string, Line>();
  private idleWaiters: Array<() => void> = [];

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    // An enclosing operation (a queue of the layer above) was called earlier still: its call time wins.
    const calledAt = operationStart() ?? Date.now();
    const line = this.lines.get(key);
    if (line === undefined) {
      const fresh: Line = { waiting: [] };
      this.lines.set(key, fresh);
      return this.exec(key, fresh, task, calledAt);
    }
    return new Promise<T>((resolve, reject) => {
      line.waiting.push(() => {
        this.exec(key, line, task, calledAt).then(resolve, reject);
      });
    });
  }

  /** Number of keys with queued or running work. */
  get size(): number {
    return this.lines.size;
  }

  /** Resolves once every task queued so far has settled. */
  idle(): Promise<void> {
    if (this.lines.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async exec<T>(key: string, line: Line, task: () => Promise<T>, calledAt: number): Promise<T> {
    try {
      return await asOperationStartedAt(calledAt, task);
    } finally {
      const next = line.waiting.shift();
      if (next !== undefined) next();
      else {
        this.lines.delete(key);
        if (this.lines.size === 0 && this.idleWaiters.length > 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const wake of waiters) wake();
        }
      }
    }
  }
}
