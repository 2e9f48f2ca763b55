/**
 * The MCP server the tests (and their child processes) run behind `mcpSessions()`: tools that
 * write application state, ask the client (elicitation), log at a level, and report which
 * instance answered, so a test can tell a restored session from a fresh one.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { McpSessionContext } from '../../src/mcp/index.js';

const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;

function text(value: unknown): { content: Array<{ type: 'text'; text: string }> } {
  return { content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }] };
}

export function buildDemoServer(ctx: McpSessionContext, instance: string): McpServer {
  const server = new McpServer({ name: 'sss-demo', version: '1.0.0' }, { capabilities: { logging: {} } });

  server.registerTool('remember', { description: 'Stores a value in the session', inputSchema: { key: z.string(), value: z.string() } }, async ({ key, value }) => {
    await ctx.update({ [key]: value });
    return text('ok');
  });

  server.registerTool('increment', { description: 'Adds one to a counter (read-modify-write)', inputSchema: { key: z.string() } }, async ({ key }) => {
    // The key comes from the client: a reserved one must be refused from inside the function too.
    const written = await ctx.update((s) => ({ [key]: Number(s[key] ?? 0) + 1 }));
    return text(written);
  });

  server.registerTool('recall', { description: 'Returns the session state' }, async () => text(await ctx.state()));

  server.registerTool('confirm', { description: 'Asks the user to confirm', inputSchema: { question: z.string() } }, async ({ question }) => {
    const answer = await server.server.elicitInput({
      message: question,
      requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
    });
    const confirmed = answer.action === 'accept' && answer.content?.ok === true;
    await ctx.update((s) => ({ confirmed, confirmations: Number(s.confirmations ?? 0) + (confirmed ? 1 : 0) }));
    return text({ action: answer.action, confirmed, instance });
  });

  server.registerTool('notify', { description: 'Sends a log message on the standalone stream', inputSchema: { level: z.enum(LEVELS), message: z.string() } }, async ({ level, message }, extra) => {
    // No related request: the SDK sends it on the GET stream (stored in the event store first).
    await server.sendLoggingMessage({ level, data: message }, extra.sessionId);
    return text('sent');
  });

  server.registerTool('whoami', { description: 'Which instance answered' }, async () => text({ instance, restored: ctx.restored }));

  return server;
}
