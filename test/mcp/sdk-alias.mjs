// `node --import ./test/mcp/sdk-alias.mjs`: when SSS_TEST_MCP_SDK=oldest, resolve the MCP SDK to the
// oldest supported version (the `sdk-oldest` dev dependency) for this process.
import { register } from 'node:module';

if (process.env.SSS_TEST_MCP_SDK === 'oldest') register('./sdk-alias-hook.mjs', import.meta.url);
