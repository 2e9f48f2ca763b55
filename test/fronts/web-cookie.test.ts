/**
 * The session cookie of sealed-session-store/web: secure defaults, contradictions refused at
 * startup, strict reading and writing, and two cookies of one name (one planted) never trusted.
 */
import { describe, expect, it } from 'vitest';
import { Keyring, MemoryStore, secureStore } from 'sealed-session-store';
import { readCookies, resolveCookie, serializeCookie, webSessions } from 'sealed-session-store/web';

describe('session cookie options', () => {
  it('defaults: __Host-sid, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, a browser-session cookie', () => {
    const cookie = resolveCookie();
    expect(cookie).toEqual({ name: '__Host-sid', secure: true, sameSite: 'Lax', path: '/', domain: undefined, persistent: false, partitioned: false });
    expect(serializeCookie(cookie, 'a.b.c')).toBe('__Host-sid=a.b.c; Path=/; HttpOnly; Secure; SameSite=Lax');
  });

  it('a Domain or another Path means __Secure-, secure: false means no prefix (http://localhost development)', () => {
    expect(resolveCookie({ domain: 'example.com' }).name).toBe('__Secure-sid');
    expect(resolveCookie({ path: '/app', name: 'app' }).name).toBe('__Secure-app');
    const dev = resolveCookie({ secure: false });
    expect(dev.name).toBe('sid');
    expect(serializeCookie(dev, 'v', 0)).toBe('sid=v; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax');
  });

  it.each([
    [{ hostPrefix: true, secure: false }, /__Host- prefix needs cookie.secure/],
    [{ hostPrefix: true, path: '/app' }, /__Host- prefix needs cookie.path/],
    [{ hostPrefix: true, domain: 'example.com' }, /__Host- prefix forbids cookie.domain/],
    [{ sameSite: 'None', secure: false }, /'None' needs cookie.secure/],
    [{ sameSite: 'lax' }, /sameSite must be/],
    [{ name: 'a b' }, /cookie.name must be a non-empty token/],
    [{ name: '__Host-sid' }, /base name/],
    [{ path: 'app' }, /cookie.path must start with \//],
    [{ path: '/a;Domain=evil' }, /cookie.path/],
    [{ domain: 'evil.com; Secure' }, /cookie.domain/],
    [{ partitioned: true, secure: false }, /partitioned needs cookie.secure/],
  ])('refuses %o at startup (invalid_input)', (options, message) => {
    expect(() => resolveCookie(options as never)).toThrow(expect.objectContaining({ code: 'invalid_input', message: expect.stringMatching(message) }));
  });

  it('writes only cookie-octets and whole-second Max-Age', () => {
    const cookie = resolveCookie();
    for (const value of ['a b', 'a;b', 'a"b', 'a,b', 'a\\b', 'é']) expect(() => serializeCookie(cookie, value)).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => serializeCookie(cookie, 'v', 1.5)).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(serializeCookie(resolveCookie({ partitioned: true }), 'v', 60)).toBe('__Host-sid=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax; Partitioned');
  });

  it('reads every value of one name, exact names only, quotes removed', () => {
    expect(readCookies('a=1; __Host-sid=x.y.z; sid=nope; b', '__Host-sid')).toEqual(['x.y.z']);
    expect(readCookies('__Host-sid="q"; __Host-sid=r', '__Host-sid')).toEqual(['q', 'r']);
    expect(readCookies(null, 'sid')).toEqual([]);
    expect(readCookies('__host-sid=x', '__Host-sid')).toEqual([]);
  });
});

describe('webSessions over two cookies of one name', () => {
  it('uses neither (one was planted) and clears the cookie', async () => {
    const store = secureStore(new MemoryStore(), { keyring: Keyring.generate() });
    const sessions = webSessions(store);
    const a = await sessions.open(new Request('https://x.test/'));
    a.set('n', 1);
    const first = await sessions.commit(a, new Response('ok'));
    const token = first.headers.getSetCookie()[0]!.split(';')[0]!.split('=')[1]!;
    const one = await sessions.open(new Request('https://x.test/', { headers: { cookie: `__Host-sid=${token}` } }));
    expect(one.get('n')).toBe(1);
    const two = await sessions.open(new Request('https://x.test/', { headers: { cookie: `__Host-sid=${token}; __Host-sid=${token}` } }));
    expect(two.id).toBeUndefined();
    const res = await sessions.commit(two, Response.json({}));
    expect(res.headers.getSetCookie()[0]).toMatch(/^__Host-sid=; Path=\/; Max-Age=0/);
    await store.close();
  });

  it('a fetch() response with immutable headers comes back as a copy carrying the cookie', async () => {
    const store = secureStore(new MemoryStore(), { keyring: Keyring.generate() });
    const sessions = webSessions(store, { cacheControl: false });
    const res = await sessions.handle(new Request('https://x.test/'), (session) => {
      session.set('n', 1);
      return Response.redirect('https://x.test/next', 302); // its headers are immutable
    });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://x.test/next');
    expect(res.headers.getSetCookie()).toHaveLength(1);
    expect(res.headers.get('cache-control')).toBeNull();
    await store.close();
  });
});
