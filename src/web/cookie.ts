/**
 * The session cookie of the web-standard front (`./web`): its attributes with secure defaults, and a
 * small strict reader and writer of the `Cookie` / `Set-Cookie` syntax (RFC 6265bis). No framework,
 * no Node built-in: it runs wherever `Request` and `Headers` do (Node, workerd, Bun, Deno).
 *
 * Defaults, and the threat each answers:
 * - `HttpOnly`: script on the page (an XSS) cannot read the session token;
 * - `Secure`: the token never travels over plain HTTP, where anyone on the path reads it;
 * - `SameSite=Lax`: a cross-site POST (CSRF) arrives without the cookie;
 * - the `__Host-` prefix (with `Secure`, `Path=/`, no `Domain`): the browser refuses the cookie
 *   unless it came from this very host over HTTPS, so a sibling subdomain or a network attacker on
 *   http:// cannot plant or overwrite it (cookie tossing, session fixation).
 */
import { InvalidInputError } from '../contract/errors.js';

export type SameSite = 'Strict' | 'Lax' | 'None';

export interface SessionCookieOptions {
  /** The cookie's base name; the `__Host-` prefix is added when it applies. Default `sid`. */
  name?: string;
  /**
   * Send the cookie over HTTPS only (`Secure`). Default true. Set false ONLY for development over
   * http://localhost in a browser that refuses `Secure` cookies there: it drops `Secure` and the
   * `__Host-` prefix, so a network attacker could read and plant the cookie.
   */
  secure?: boolean;
  /** Name the cookie `__Host-<name>` (needs `secure`, `path: '/'`, no `domain`). Default: true when `secure`. */
  hostPrefix?: boolean;
  /** Default `Lax`. `None` needs `secure` (browsers drop it otherwise). */
  sameSite?: SameSite;
  /** Default `/` (the only one the `__Host-` prefix allows). */
  path?: string;
  /** Share the cookie with subdomains. Refused with the `__Host-` prefix (which exists to forbid it). */
  domain?: string;
  /**
   * Keep the cookie across browser restarts, until the session's absolute deadline (`Max-Age`).
   * Default false: a browser-session cookie, gone when the browser closes.
   */
  persistent?: boolean;
  /** Add `Partitioned` (CHIPS: a cookie of a third-party embed, keyed to the top-level site). Default false. */
  partitioned?: boolean;
}

/** The options above, checked and completed. */
export interface ResolvedCookie {
  /** The full name, prefix included. */
  name: string;
  secure: boolean;
  sameSite: SameSite;
  path: string;
  domain: string | undefined;
  persistent: boolean;
  partitioned: boolean;
}

// RFC 9110 token: the characters a cookie name may hold.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 6265 cookie-octet: no CTLs, whitespace, DQUOTE, comma, semicolon or backslash.
const COOKIE_OCTETS = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;
// A path attribute: any visible character or space but ';', starting with '/'.
const PATH = /^\/[\x20-\x3A\x3C-\x7E]*$/;
const DOMAIN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const MAX_NAME = 256;

/** Checks the cookie options; every contradiction is refused at startup (`invalid_input`), never at a request. */
export function resolveCookie(options: SessionCookieOptions = {}): ResolvedCookie {
  if (options === null || typeof options !== 'object') throw new InvalidInputError('cookie options must be an object');
  const secure = options.secure ?? true;
  if (typeof secure !== 'boolean') throw new InvalidInputError('cookie.secure must be a boolean');
  const path = options.path ?? '/';
  if (typeof path !== 'string' || !PATH.test(path)) throw new InvalidInputError('cookie.path must start with / and hold no ; or control character');
  const domain = options.domain;
  if (domain !== undefined && (typeof domain !== 'string' || domain.length > 253 || !DOMAIN.test(domain))) throw new InvalidInputError('cookie.domain must be a host name');
  const sameSite = options.sameSite ?? 'Lax';
  if (sameSite !== 'Strict' && sameSite !== 'Lax' && sameSite !== 'None') throw new InvalidInputError("cookie.sameSite must be 'Strict', 'Lax' or 'None'");
  // Browsers drop SameSite=None without Secure: refused here rather than silently lost.
  if (sameSite === 'None' && !secure) throw new InvalidInputError("cookie.sameSite 'None' needs cookie.secure");
  const base = options.name ?? 'sid';
  if (typeof base !== 'string' || base.length === 0 || base.length > MAX_NAME || !TOKEN.test(base)) throw new InvalidInputError('cookie.name must be a non-empty token (letters, digits and !#$%&\'*+-.^_`|~)');
  if (/^__(host|secure)-/i.test(base)) throw new InvalidInputError('cookie.name is the base name: the __Host- prefix is added by hostPrefix');
  const hostPrefix = options.hostPrefix ?? (secure && path === '/' && domain === undefined);
  if (hostPrefix) {
    // The browser enforces these for __Host- cookies; a contradiction would be a cookie it drops.
    if (!secure) throw new InvalidInputError('the __Host- prefix needs cookie.secure');
    if (path !== '/') throw new InvalidInputError("the __Host- prefix needs cookie.path '/'");
    if (domain !== undefined) throw new InvalidInputError('the __Host- prefix forbids cookie.domain');
  }
  const name = hostPrefix ? `__Host-${base}` : secure ? `__Secure-${base}` : base;
  for (const flag of ['persistent', 'partitioned'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') throw new InvalidInputError(`cookie.${flag} must be a boolean`);
  }
  const partitioned = options.partitioned ?? false;
  if (partitioned && !secure) throw new InvalidInputError('cookie.partitioned needs cookie.secure');
  return { name, secure, sameSite, path, domain, persistent: options.persistent ?? false, partitioned };
}

/**
 * The values of every cookie called `name` in a `Cookie` header, in order (RFC 6265bis 5.6.3 parse,
 * DQUOTEs around a value removed). Pairs without `=` are skipped; values are not decoded.
 */
export function readCookies(header: string | null, name: string): string[] {
  if (header === null || header === '') return [];
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    out.push(value);
  }
  return out;
}

/**
 * A `Set-Cookie` value. `maxAgeSeconds` undefined: a browser-session cookie; 0: delete it (with
 * `Expires` in 1970 too, for old clients). The value must be cookie-octets (a token is).
 */
export function serializeCookie(cookie: ResolvedCookie, value: string, maxAgeSeconds?: number): string {
  if (!COOKIE_OCTETS.test(value)) throw new InvalidInputError('a cookie value must be cookie-octets (no space, quote, comma, semicolon or backslash)');
  const parts = [`${cookie.name}=${value}`, `Path=${cookie.path}`];
  if (cookie.domain !== undefined) parts.push(`Domain=${cookie.domain}`);
  if (maxAgeSeconds !== undefined) {
    if (!Number.isSafeInteger(maxAgeSeconds) || maxAgeSeconds < 0) throw new InvalidInputError('a cookie Max-Age must be an integer >= 0');
    parts.push(`Max-Age=${maxAgeSeconds}`);
    if (maxAgeSeconds === 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  parts.push('HttpOnly');
  if (cookie.secure) parts.push('Secure');
  parts.push(`SameSite=${cookie.sameSite}`);
  if (cookie.partitioned) parts.push('Partitioned');
  return parts.join('; ');
}
