/**
 * A user-written store: a small Map-backed backend that offers only the session-level methods of
 * the contract, made usable under the security layers with `adaptSessionStoreSingleProcess`.
 * test/compliance/custom.test.ts runs the compliance suite over it, so this example never rots.
 */
import { pathToFileURL } from 'node:url';
import {
  ExpiredError,
  type ListOptions,
  type ListPage,
  NotFoundError,
  type SaveOptions,
  type SessionState,
  type SessionStore,
} from 'sealed-session-store';
import { adaptSessionStoreSingleProcess, assertSessionId, assertState, normalizeTtl } from 'sealed-session-store/kit';

interface Row {
  json: string;
  expiresAt: number;
}

/** The kind of store a user might already have: a map with expiry. */
export class MapSessionStore implements SessionStore {
  private readonly rows = new Map<string, Row>();
  constructor(private readonly now: () => number = Date.now) {}

  async close(): Promise<void> {}

  async save(id: string, state: SessionState, options: SaveOptions = {}): Promise<void> {
    assertSessionId(id);
    assertState(state);
    this.rows.set(id, { json: JSON.stringify(state), expiresAt: this.now() + normalizeTtl(options.ttlMs ?? 1_800_000) });
  }

  async load(id: string): Promise<SessionState> {
    assertSessionId(id);
    const row = this.rows.get(id);
    if (row === undefined) throw new NotFoundError();
    if (row.expiresAt <= this.now()) throw new ExpiredError();
    return JSON.parse(row.json) as SessionState;
  }

  async delete(id: string): Promise<void> {
    assertSessionId(id);
    this.rows.delete(id);
  }

  async listActive(options: ListOptions = {}): Promise<ListPage> {
    const live = [...this.rows].filter(([, r]) => r.expiresAt > this.now()).map(([id]) => id).sort();
    const start = options.cursor === undefined ? 0 : live.findIndex((id) => id > options.cursor!);
    const from = start < 0 ? live.length : start;
    const limit = options.limit ?? 100;
    const ids = live.slice(from, from + limit);
    return from + limit < live.length ? { ids, cursor: ids[ids.length - 1]! } : { ids };
  }

  async cleanupExpired(): Promise<number> {
    let n = 0;
    for (const [id, r] of this.rows) if (r.expiresAt <= this.now() && this.rows.delete(id)) n++;
    return n;
  }

  async update(id: string, partial: SessionState): Promise<void> {
    await this.save(id, { ...(await this.load(id)), ...partial });
  }

  async updateTtl(id: string, ttlMs: number): Promise<void> {
    const state = await this.load(id);
    await this.save(id, state, { ttlMs });
  }
}

export async function main(): Promise<void> {
  // One process only: the adapter serialises writes per id inside this process.
  const store = adaptSessionStoreSingleProcess(new MapSessionStore());
  await store.save('s1', { hello: 'world' });
  await store.update('s1', { more: true });
  console.log('custom store ->', JSON.stringify(await store.load('s1')));
  await store.close();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
