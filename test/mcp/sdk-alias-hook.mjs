// Module resolution hook (test only): sends every import of @modelcontextprotocol/sdk to the
// `sdk-oldest` npm alias, so one child process runs the whole stack on the oldest supported SDK.
const SDK = '@modelcontextprotocol/sdk';

export async function resolve(specifier, context, next) {
  if (specifier === SDK || specifier.startsWith(`${SDK}/`)) return next(`sdk-oldest${specifier.slice(SDK.length)}`, context);
  return next(specifier, context);
}
