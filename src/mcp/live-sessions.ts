/**
 * The MCP sessions live in this process, bounded, in least-recently-used order. A live session is
 * only a cache of its sealed record: closing one (evicted, dropped, replaced) loses nothing a
 * restore cannot rebuild, so the bound caps memory without refusing anyone.
 */
import type { LiveSession } from './session.js';

export class LiveSessions {
  private readonly bySid = new Map<string, LiveSession>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.bySid.size;
  }

  get(sid: string): LiveSession | undefined {
    return this.bySid.get(sid);
  }

  has(sid: string): boolean {
    return this.bySid.has(sid);
  }

  /**
   * Makes `live` the session's transport in this process (the most recently used), closing the one
   * it replaces and, past the bound, the least recently used ones.
   */
  publish(sid: string, live: LiveSession): void {
    const prev = this.bySid.get(sid);
    if (prev !== undefined && prev !== live) void prev.close();
    this.bySid.delete(sid);
    this.bySid.set(sid, live);
    while (this.bySid.size > this.max) {
      const [oldest, victim] = this.bySid.entries().next().value as [string, LiveSession];
      this.bySid.delete(oldest);
      void victim.close();
    }
  }

  /** Marks `live` most recently used, unless another transport replaced it meanwhile. */
  touch(sid: string, live: LiveSession): void {
    if (this.bySid.get(sid) !== live) return;
    this.bySid.delete(sid);
    this.bySid.set(sid, live);
  }

  /** Closes and forgets the session's transport in this process, if there is one. */
  async drop(sid: string): Promise<void> {
    const live = this.bySid.get(sid);
    if (live === undefined) return;
    this.bySid.delete(sid);
    await live.close();
  }

  /** Closes every transport (the sessions stay in the store). */
  async closeAll(): Promise<void> {
    const all = [...this.bySid.values()];
    this.bySid.clear();
    await Promise.all(all.map((live) => live.close()));
  }
}
