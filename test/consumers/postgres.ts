// A consumer of ./postgres with pg and @types/pg: the store over a Pool that is never asked for a
// connection, so it is built and closed without a server.
import pg from 'pg';
import { Keyring, secureStore } from 'sealed-session-store';
import type { PostgresConfig } from 'sealed-session-store/config';
import { DEFAULT_TABLE, PostgresStore } from 'sealed-session-store/postgres';

async function main(): Promise<string> {
  const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
  const backend = new PostgresStore({ pool, table: 'consumer_sessions' });
  const store = secureStore(backend, { keyring: Keyring.generate(), namespace: 'consumer' });
  // ./config takes the same Pool (typed by shape there, so ./config needs no pg types).
  const viaConfig: PostgresConfig = { adapter: 'postgres', url: 'postgres://nobody@127.0.0.1:1/none', pgPool: pool };
  await store.close();
  await pool.end();
  return `table=${DEFAULT_TABLE} config=${viaConfig.adapter}`;
}

main().then((detail) => console.log(`ok ${detail}`));
