// A consumer of ./config without any database client installed: the memory adapter.
import { ConfigError, type SessionStoreConfig, createSessionStore, validateConfig } from 'sealed-session-store/config';

async function main(): Promise<string> {
  const config: SessionStoreConfig = { adapter: 'memory', namespace: 'consumer' };
  validateConfig(config);
  const created = await createSessionStore(config);
  const id = await created.store.for({ subject: 'alice' }).create({ n: 1 });
  const loaded = await created.store.for({ subject: 'alice' }).load(id);
  await created.close();
  let field = '';
  try {
    validateConfig({ adapter: 'memory', ttlMs: -1 } as SessionStoreConfig);
  } catch (err) {
    if (err instanceof ConfigError) field = err.field ?? '';
  }
  return `n=${String(loaded.n)} refused=${field}`;
}

main().then((detail) => console.log(`ok ${detail}`));
