/**
 * Credentials out of messages. A server URL may carry a password in its userinfo
 * (`redis://:pw@host`, `postgres://user:pw@host`), as a bare userinfo (ioredis reads
 * `redis://pw@host` as a password), or in its query string (`?password=`, `?sslpassword=`: both
 * client libraries honour these). Threat: connection errors end up in logs, terminals and error
 * trackers, so none of these may reach a message or a `cause` in clear.
 */

/** Query parameters whose values are settings, never credentials: kept as they are. Every other value is redacted. */
const SETTING_PARAMS = new Set(['db', 'family', 'sslmode', 'ssl', 'tls', 'application_name', 'connect_timeout', 'target_session_attrs']);
const MASK = '***';

interface Parsed {
  url: URL;
  secrets: string[];
}

function parse(text: string): Parsed | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const secrets: string[] = [];
  const keep = (raw: string) => {
    if (raw === '') return;
    secrets.push(raw);
    try {
      secrets.push(decodeURIComponent(raw));
    } catch {
      // not percent-encoded text: the raw form is enough
    }
  };
  keep(url.password);
  // ioredis takes a userinfo without a colon as the password.
  if (url.password === '' && /^rediss?:$/i.test(url.protocol)) keep(url.username);
  for (const [name, value] of url.searchParams) {
    if (SETTING_PARAMS.has(name.toLowerCase())) continue;
    keep(value);
    keep(encodeURIComponent(value));
  }
  return { url, secrets };
}

/** The URL with every credential replaced by `***` (and no fragment), for messages and logs. */
export function redactUrl(text: string): string {
  const parsed = parse(text);
  if (parsed === undefined) return '<unparseable URL>';
  const { url } = parsed;
  if (url.password !== '') url.password = MASK;
  else if (/^rediss?:$/i.test(url.protocol) && url.username !== '') url.username = MASK;
  const params = [...url.searchParams].map(([name, value]) => [name, SETTING_PARAMS.has(name.toLowerCase()) ? value : MASK] as [string, string]);
  url.search = params.length === 0 ? '' : `?${params.map(([n, v]) => `${encodeURIComponent(n)}=${v === MASK ? MASK : encodeURIComponent(v)}`).join('&')}`;
  url.hash = '';
  return url.toString();
}

/** `text` with every credential of `url` (in any encoding it may appear in) replaced by `***`. */
export function scrubText(text: string, url: string): string {
  const secrets = (parse(url)?.secrets ?? []).sort((a, b) => b.length - a.length);
  let out = text.split(url).join(redactUrl(url));
  for (const s of secrets) out = out.split(s).join(MASK);
  return out;
}

/**
 * A copy of a client library's error safe to attach as a `cause`: its name, message (scrubbed of the
 * URL's credentials) and string `code` only. Never the original: errors carry extra properties (the
 * input of a URL parse failure, connection options) that print in full under `util.inspect`.
 */
export function redactedCause(err: unknown, url: string): Error {
  const source = err as { name?: unknown; message?: unknown; code?: unknown } | null;
  const message = typeof source?.message === 'string' ? source.message : String(err);
  const copy = new Error(scrubText(message, url)) as Error & { code?: string };
  copy.name = typeof source?.name === 'string' ? source.name : 'Error';
  if (typeof source?.code === 'string') copy.code = source.code;
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}
