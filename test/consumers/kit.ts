// A consumer of ./kit: a store author's building blocks.
import { ENVELOPE_VERSION, KeyedQueue, assertSessionId, newVersion } from 'sealed-session-store/kit';

async function main(): Promise<string> {
  const queue = new KeyedQueue();
  const order: number[] = [];
  await Promise.all([1, 2, 3].map((n) => queue.run('k', async () => void order.push(n))));
  assertSessionId('session-1');
  const version: string = newVersion();
  return `order=${order.join(',')} envelope=${ENVELOPE_VERSION} version=${version.length > 0}`;
}

main().then((detail) => console.log(`ok ${detail}`));
