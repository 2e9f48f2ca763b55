/**
 * What each layer costs over each backend: the raw backend, TtlStore alone, EncryptedStore alone,
 * ownership (over TtlStore, which carries the sealed meta it needs, without encryption) and the
 * full `secureStore` stack, for save+load and update, one at a time and 32 in flight. Owner-scoped
 * stacks also run create+load (a fresh server-minted id each time, as an MCP `initialize` does).
 */
import { Keyring, type RecordStore, type SessionState, type SessionStore, secureStore } from '../src/index.js';
import { EncryptedStore, TtlStore } from '../src/kit.js';
import { KnownRecords } from '../src/layers/known-records.js';
import { ScopedSessionStore } from '../src/layers/ownership.js';
import { Revocations } from '../src/layers/revocations.js';
import { BACKENDS, type BackendName, makeBackend } from './backends.js';
import { type Ctx, budgetForSize } from './context.js';
import { type Measurement, measure, pool } from './measure.js';

const IN_FLIGHT = 32;
export const OWNER = { subject: 'user-1234', clientId: 'claude-desktop' };

export type LayerName = 'raw' | 'ttl' | 'encrypt' | 'owner' | 'full';
export const LAYER_LABELS: Record<LayerName, string> = {
  raw: 'raw backend (session API)',
  ttl: 'TtlStore alone',
  encrypt: 'EncryptedStore alone',
  owner: 'ownership + TtlStore (no encryption)',
  full: 'full secureStore stack',
};

interface Stack {
  store: SessionStore;
  /** Owner-scoped stacks mint ids. */
  create?: (state: SessionState) => Promise<string>;
}

function stacks(backend: RecordStore, keyring: Keyring, now: () => number): Record<LayerName, Stack> {
  const ttl = new TtlStore(backend, { now });
  const revocations = new Revocations(ttl, { now });
  const owner = new ScopedSessionStore(
    { sealed: ttl, keyring, revocations, known: new KnownRecords(), audit: () => {}, hideExistence: false, now, random: undefined },
    OWNER,
  );
  const full = secureStore(backend, { keyring, namespace: 'bench', now }).for(OWNER);
  return {
    raw: { store: backend },
    ttl: { store: ttl },
    encrypt: { store: new EncryptedStore(backend, { keyring, namespace: 'bench', now }) },
    owner: { store: owner, create: (s) => owner.create(s) },
    full: { store: full, create: (s) => full.create(s) },
  };
}

export async function runLayers(ctx: Ctx): Promise<void> {
  const now = Date.now;
  const keyring = Keyring.generate();
  for (const name of BACKENDS) {
    const backend = await makeBackend(ctx, name, now);
    if (typeof backend === 'string') {
      ctx.notes.push(`${name} layer rows skipped: ${backend}`);
      continue;
    }
    await backend.start?.();
    const all = stacks(backend, keyring, now);
    for (const size of ctx.sizes) {
      const state = ctx.states.get(size)!;
      const budget = budgetForSize(ctx.budget, size);
      for (const layer of Object.keys(all) as LayerName[]) {
        const { store, create } = all[layer];
        const spec = (op: string, mode: 'seq' | '32'): Parameters<typeof measure>[0] => ({
          id: `layers/${name}/${layer}/${size}/${mode}/${op}`,
          group: 'layers',
          label: `${LAYER_LABELS[layer]}: ${op}`,
          backend: name,
          size,
          mode,
          ops: mode === 'seq' ? 1 : IN_FLIGHT,
        });
        const ids = Array.from({ length: IN_FLIGHT }, (_, i) => `b-${layer}-${size}-${i}`);
        const one = ids[0]!;
        const saveLoad = async (id: string) => {
          await store.save(id, state);
          return store.load(id);
        };
        let counter = 0;
        const update = (id: string) => store.update(id, { lastEventId: ++counter });
        await Promise.all(ids.map((id) => store.save(id, state)));
        ctx.results.push(
          await measure(spec('save+load', 'seq'), budget, () => saveLoad(one)),
          await measure(spec('save+load', '32'), budget, () => Promise.all(ids.map(saveLoad))),
          await measure(spec('update', 'seq'), budget, () => update(one)),
          await measure(spec('update', '32'), budget, () => Promise.all(ids.map(update))),
        );
        if (create !== undefined) {
          const created: string[] = [];
          const createLoad = async () => {
            const id = await create(state);
            created.push(id);
            return store.load(id);
          };
          ctx.results.push(await measure(spec('create+load', 'seq'), budget, createLoad));
          ctx.results.push(await measure(spec('create+load', '32'), budget, () => Promise.all(ids.map(createLoad))));
          // Outside the timed runs: keep the backend from growing across rows.
          await pool(created.length, 32, (i) => backend.deleteRecord(created[i]!));
        }
        await Promise.all(ids.map((id) => backend.deleteRecord(id)));
      }
      ctx.log(`  layers ${name} ${size} done`);
    }
  }
}

/** Looks a row up by id (for targets and reports). */
export function find(results: Measurement[], id: string): Measurement | undefined {
  return results.find((m) => m.id === id);
}
