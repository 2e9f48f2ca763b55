// A consumer of ./express with express, express-session and their types: the store in the session
// middleware, one request over loopback HTTP.
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { sealedExpressStore } from 'sealed-session-store/express';

async function main(): Promise<string> {
  const sessions = secureStore(new MemoryStore(), { keyring: Keyring.generate(), namespace: 'consumer' });
  const app = express();
  app.use(session({ secret: 'consumer secret', store: sealedExpressStore(sessions), resave: false, saveUninitialized: false }));
  app.post('/visit', (req, res) => {
    const visits = Number((req.session as unknown as Record<string, unknown>).visits ?? 0) + 1;
    (req.session as unknown as Record<string, unknown>).visits = visits;
    res.json({ visits });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/visit`, { method: 'POST' });
  const body = (await res.json()) as { visits: number };
  server.close();
  const stored = (await sessions.listActive()).ids.length;
  await sessions.close();
  return `visits=${body.visits} cookie=${res.headers.get('set-cookie') !== null} sealed=${stored}`;
}

main().then((detail) => console.log(`ok ${detail}`));
