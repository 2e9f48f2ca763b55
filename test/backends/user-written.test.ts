/**
 * A store written by a user on `BackendStore` keeps what it is given as it comes (structuredClone
 * into a Map, no serialization, no state checks of its own): `BackendStore`'s entry points validate
 * the states, so the whole compliance suite, invalid states included, holds over it.
 */
import { runStoreContract } from 'sealed-session-store/testing';
import { ConflictError } from '../../src/contract/errors.js';
import type { DeleteRecordOptions, ListOptions, ListPage, RecordValue, SaveRecordOptions, StoredRecord } from '../../src/contract/store.js';
import { assertExpiresAt, assertSessionId, normalizeLimit } from '../../src/contract/validate.js';
import { newVersion } from '../../src/contract/version.js';
import { BackendStore } from '../../src/contract/versioned-store.js';

class MapBackendStore extends BackendStore {
  private readonly records = new Map<string, StoredRecord>();

  async loadRecord(id: string): Promise<StoredRecord | undefined> {
    this.assertOpen();
    const rec = this.records.get(id);
    return rec === undefined ? undefined : structuredClone(rec);
  }

  async saveRecord(id: string, value: RecordValue, options: SaveRecordOptions): Promise<string> {
    this.assertOpen();
    assertExpiresAt(options.expiresAt);
    const current = this.records.get(id);
    if (options.ifAbsent === true && current !== undefined) throw new ConflictError('record already exists');
    if (options.ifVersion !== undefined && current?.version !== options.ifVersion) throw new ConflictError();
    const version = newVersion();
    this.records.set(id, { value: structuredClone(value), version, expiresAt: options.expiresAt });
    return version;
  }

  async deleteRecord(id: string, options: DeleteRecordOptions = {}): Promise<boolean> {
    this.assertOpen();
    const current = this.records.get(id);
    if (current === undefined) return false;
    if (options.ifVersion !== undefined && current.version !== options.ifVersion) throw new ConflictError();
    return this.records.delete(id);
  }

  async listActive(options: ListOptions = {}): Promise<ListPage> {
    this.assertOpen();
    const limit = normalizeLimit(options.limit);
    // The cursor is the last id returned (ids are visible ASCII, so anything else was never issued).
    if (options.cursor !== undefined) assertSessionId(options.cursor);
    const now = this.now();
    const live = [...this.records].filter(([id, r]) => r.expiresAt > now && (options.cursor === undefined || id > options.cursor)).map(([id]) => id);
    live.sort();
    const ids = live.slice(0, limit);
    return live.length > limit ? { ids, cursor: ids[ids.length - 1]! } : { ids };
  }

  async cleanupExpired(): Promise<number> {
    this.assertOpen();
    const now = this.now();
    let removed = 0;
    for (const [id, r] of this.records) if (r.expiresAt <= now && this.records.delete(id)) removed++;
    return removed;
  }
}

runStoreContract('a user-written BackendStore that keeps states as given', ({ now }) => new MapBackendStore({ now }));
