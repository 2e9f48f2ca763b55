// A consumer of ./web with hono: the middleware on a Hono app, one request through app.fetch.
import { Hono } from 'hono';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { type SealedSessionEnv, sealedSession, webSessions } from 'sealed-session-store/web';

async function main(): Promise<string> {
  const sessions = secureStore(new MemoryStore(), { keyring: Keyring.generate(), namespace: 'consumer' });
  const app = new Hono<SealedSessionEnv>();
  app.use(sealedSession(webSessions(sessions)));
  app.post('/visit', (c) => {
    const visits = (c.get('session').get<number>('visits') ?? 0) + 1;
    c.get('session').set('visits', visits);
    return c.json({ visits });
  });
  const res = await app.fetch(new Request('https://consumer.test/visit', { method: 'POST' }));
  const body = (await res.json()) as { visits: number };
  const stored = (await sessions.listActive()).ids.length;
  await sessions.close();
  return `visits=${body.visits} cookie=${res.headers.get('set-cookie')?.startsWith('__Host-sid=') === true} sealed=${stored}`;
}

main().then((detail) => console.log(`ok ${detail}`));
