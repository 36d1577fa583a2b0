/**
 * Checks on a raw HTTP request that must never throw: the request target a client sent (any bytes
 * at all) and the Host header it claims (DNS rebinding).
 */
import { isIP } from 'node:net';

/**
 * The request's path and query, or null when the target is not a usable origin-form path.
 * `new URL('//', base)` throws (a scheme-relative URL with an empty or invalid authority), so the
 * target is parsed as a path under a fixed origin, never as a URL that may carry its own host.
 */
export function requestTarget(rawTarget: string | undefined): URL | null {
  const target = rawTarget ?? '/';
  if (!target.startsWith('/') || target.startsWith('//') || target.includes('\\')) return null;
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    return null;
  }
}

/** The host name of a Host header value (brackets of an IPv6 literal removed), or null if malformed. */
export function hostName(hostHeader: string | undefined): string | null {
  if (!hostHeader) return null;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(hostHeader.trim());
  if (!m) return null;
  return (m[1] ?? m[2]).toLowerCase();
}

/**
 * Whether a request naming `hostHeader` may be served. A DNS rebinding page reaches a local server
 * under the attacker's own host NAME, so by default (`allowed` empty) only `localhost` and IP
 * literals (the bound address, 127.0.0.1, [::1], a LAN address) are accepted; `['*']` accepts any.
 */
export function hostAllowed(hostHeader: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes('*')) return true;
  const name = hostName(hostHeader);
  if (name === null) return false;
  if (allowed.length === 0) return name === 'localhost' || isIP(name) !== 0;
  return allowed.some((a) => a.toLowerCase() === name);
}
