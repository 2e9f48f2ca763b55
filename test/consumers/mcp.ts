// A consumer of ./mcp with the MCP SDK: a server factory typed by the SDK, sessions over the
// secure store, and the request-state codec.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { type McpSessionsOptions, mcpSessions, requestStateCodec } from 'sealed-session-store/mcp';

async function main(): Promise<string> {
  const keyring = Keyring.generate();
  const store = secureStore(new MemoryStore(), { keyring, namespace: 'consumer' });
  const createServer: McpSessionsOptions['createServer'] = () => new McpServer({ name: 'consumer', version: '1.0.0' });
  const sessions = mcpSessions({ store, createServer });
  const anonymous = await sessions.handleRequest(new Request('http://localhost/mcp', { method: 'POST', body: '{}' }));
  await sessions.close();
  const codec = requestStateCodec({ keyring, namespace: 'consumer' });
  const handle = codec.seal({ page: 2 }, { bind: 's1' });
  return `anonymous=${anonymous.status} page=${JSON.stringify(codec.open(handle, { bind: 's1' }))}`;
}

main().then((detail) => console.log(`ok ${detail}`));
