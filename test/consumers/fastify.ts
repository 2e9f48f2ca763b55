// A consumer of ./fastify with fastify, @fastify/session and @fastify/cookie: the store in the
// session plugin, one injected request.
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { sealedFastifyStore } from 'sealed-session-store/fastify';

async function main(): Promise<string> {
  const sessions = secureStore(new MemoryStore(), { keyring: Keyring.generate(), namespace: 'consumer' });
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, { secret: 'a consumer secret of 32 characters or more', store: sealedFastifyStore(sessions), saveUninitialized: false, cookie: { secure: false } });
  app.post('/visit', async (request) => {
    const visits = Number(request.session.get('visits' as never) ?? 0) + 1;
    request.session.set('visits' as never, visits as never);
    return { visits };
  });
  const res = await app.inject({ method: 'POST', url: '/visit' });
  await app.close();
  const stored = (await sessions.listActive()).ids.length;
  await sessions.close();
  return `visits=${res.json<{ visits: number }>().visits} cookie=${res.headers['set-cookie'] !== undefined} sealed=${stored}`;
}

main().then((detail) => console.log(`ok ${detail}`));
