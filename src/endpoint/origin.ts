/**
 * check_origin, as Phoenix: a request without an Origin header (not a browser)
 * passes; a browser's Origin must be this server's own host, or one of ORIGINS.
 * An ORIGINS entry is a full origin (https://chat.example.com), a host
 * (chat.example.com, any scheme and port) or a wildcard host (*.example.com).
 */
export function checkOrigin(origin: string, host: string, allowed: readonly string[]): boolean {
  if (origin === '') return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.host === host) return true;
  return allowed.some((entry) => {
    if (entry.includes('://')) return entry.replace(/\/$/, '') === url.origin;
    if (entry.startsWith('*.')) return url.hostname.endsWith(entry.slice(1));
    return url.hostname === entry;
  });
}
