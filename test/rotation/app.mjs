// An application process for the rotation end-to-end test (file-rotation.test.ts): a store from
// `createSessionStore(loadConfigFromEnv())` (SSS_* variables: adapter, URL, keyset file, follow
// interval), a few loops creating, updating and loading sessions every few milliseconds, and a
// status line on stdout every 50 ms: operations done, operations failed (by error code), and the
// primary encrypt kid this process seals under. "stop" on stdin ends it after one last line.
// Run through tsx against src/ (the test passes the loader), so it exercises the code under test.
import { createInterface } from 'node:readline';
import { createSessionStore, loadConfigFromEnv } from '../../src/config/index.ts';

const created = await createSessionStore(loadConfigFromEnv());
const { store, keyring } = created;
const owner = { subject: 'rotation-app' };
const scoped = store.for(owner);
const ids = [];
let ok = 0;
let failed = 0;
const errors = {};
let stopping = false;

async function op(fn) {
  try {
    await fn();
    ok++;
  } catch (err) {
    failed++;
    const code = err?.code ?? String(err);
    errors[code] = (errors[code] ?? 0) + 1;
  }
}

for (let i = 0; i < 10; i++) await op(async () => ids.push(await scoped.create({ n: 0 })));
// Idle sessions, never touched again: no lazy re-seal reaches them, only `rekey` does (so
// retiring the key they are sealed under is refused until the rekey has run).
for (let i = 0; i < 30; i++) await op(() => scoped.create({ idle: true }));

const pick = () => ids[Math.floor(Math.random() * ids.length)];
async function loop(worker) {
  let tick = 0;
  while (!stopping) {
    tick++;
    if (tick % 10 === worker) await op(async () => ids.push(await scoped.create({ n: 0 })));
    const id = pick();
    await op(() => scoped.update(id, (s) => ({ n: (s.n ?? 0) + 1 })));
    await op(() => scoped.load(pick()));
    await new Promise((r) => setTimeout(r, 2));
  }
}

const status = (done = false) =>
  process.stdout.write(`${JSON.stringify({ ready: true, done, ok, failed, errors, sessions: ids.length, primary: keyring.primary('encrypt').kid })}\n`);
const timer = setInterval(status, 50);
const loops = [loop(0), loop(3), loop(6)];
status();

createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line.trim() !== 'stop' || stopping) return;
  stopping = true;
  await Promise.all(loops);
  clearInterval(timer);
  status(true);
  await created.close();
  process.exit(0);
});
