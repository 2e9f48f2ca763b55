/**
 * An application process for test/rotation/store-rotation.test.ts: `createSessionStore` from the
 * SSS_* environment (SSS_KEYSET_STORE=1: the keyset kept in the store), then session operations
 * every few milliseconds (create, load, update) until SIGTERM. It prints, one line each:
 *   READY <primary encrypt kid>
 *   KEYS <kid:purpose:status,...>    whenever its keyring picks up a change (the poll)
 *   OPS <ok> <failed>                every 100 operations
 *   FAIL <code> <message>            for every failed operation
 *   DONE <ok> <failed>               on SIGTERM, after closing the store
 * Run with tsx (node --import tsx), which loads the library from src/.
 */
import { createSessionStore } from '../../src/config/index.ts';

const created = await createSessionStore();
const { store, keyring } = created;
const owner = { subject: 'rotation-app' };
const scoped = store.for(owner);
const keysLine = () =>
  keyring
    .list()
    .map((k) => `${k.kid}:${k.purpose}:${k.status}`)
    .sort()
    .join(',');
keyring.onChange(() => process.stdout.write(`KEYS ${keysLine()}\n`));
process.stdout.write(`READY ${keyring.primary('encrypt').kid}\n`);

const ids = [];
let ok = 0;
let failed = 0;
let stopping = false;

async function one(n) {
  if (ids.length < 20 || n % 3 === 0) {
    ids.push(await scoped.create({ n }));
  } else if (n % 3 === 1) {
    await scoped.load(ids[n % ids.length]);
  } else {
    await scoped.update(ids[n % ids.length], { n });
  }
}

async function loop() {
  for (let n = 0; !stopping; n++) {
    try {
      await one(n);
      ok++;
    } catch (err) {
      failed++;
      process.stdout.write(`FAIL ${err?.code ?? 'error'} ${String(err?.message ?? err).replace(/\n/g, ' ')}\n`);
    }
    if ((ok + failed) % 100 === 0) process.stdout.write(`OPS ${ok} ${failed}\n`);
    await new Promise((r) => setTimeout(r, 3));
  }
}

const running = loop();
process.on('SIGTERM', async () => {
  stopping = true;
  await running;
  await created.close();
  process.stdout.write(`DONE ${ok} ${failed}\n`);
  process.exit(0);
});
