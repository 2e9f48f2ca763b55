/**
 * `LayerStore`: what every decorator layer shares. It wraps an inner store that keeps the record
 * level, passes deletes, listing, cleanup and start-up straight through, and closes the inner store
 * after its own queued compare-and-swap loops have finished (injected clients are never closed: that
 * is each backend's rule). A layer supplies only how records are transformed on the way in and out.
 */
import { VersionedStore, type VersionedStoreOptions } from '../contract/versioned-store.js';
import { InvalidInputError } from '../contract/errors.js';
import { type DeleteRecordOptions, type ListOptions, type ListPage, type RecordStore, type SessionState, isIndexedStore, isRecordStore } from '../contract/store.js';

export abstract class LayerStore extends VersionedStore<SessionState> {
  /** Passed through when the inner store keeps the per-index listing, absent otherwise (see `isIndexedStore`). */
  readonly listByIndex?: (index: string, options?: ListOptions) => Promise<ListPage>;

  constructor(
    protected readonly inner: RecordStore,
    options: VersionedStoreOptions = {},
  ) {
    super(options);
    // A layer over something that is not a record store would fail on its first call, far from here.
    if (!isRecordStore(inner as never)) throw new InvalidInputError('a layer needs an inner store with the record-level methods (loadRecord, saveRecord, deleteRecord)');
    if (isIndexedStore(inner)) {
      this.listByIndex = (index, listOptions) => {
        this.assertOpen();
        return inner.listByIndex(index, listOptions);
      };
    }
  }

  override async start(): Promise<void> {
    await super.start();
    await this.inner.start?.();
  }

  deleteRecord(id: string, options?: DeleteRecordOptions): Promise<boolean> {
    this.assertOpen();
    return this.inner.deleteRecord(id, options);
  }

  listActive(options?: ListOptions): Promise<ListPage> {
    this.assertOpen();
    return this.inner.listActive(options);
  }

  cleanupExpired(): Promise<number> {
    this.assertOpen();
    return this.inner.cleanupExpired();
  }

  protected override async onClose(): Promise<void> {
    await this.inner.close();
  }
}
