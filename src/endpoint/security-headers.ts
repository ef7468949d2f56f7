/**
 * Security headers, by what a response is. One table, one switch: a new kind of
 * response must say which headers it gets.
 *
 * | kind         | Content-Security-Policy                                              |
 * |--------------|----------------------------------------------------------------------|
 * | `chat_page`  | scripts, styles, sockets from this server only; no inline anything   |
 * | `admin_page` | as the chat page, but its `<style>` block is inline (style-src)      |
 * | `asset`      | none (a script or stylesheet is governed by the page that loads it)  |
 * | `data`       | `default-src 'none'`: JSON or metrics text, never a document to run  |
 *
 * Every kind also gets `X-Content-Type-Options: nosniff` (a browser never runs a
 * JSON error as a script) and `Referrer-Policy: no-referrer`. Pages are never
 * framed (`frame-ancestors 'none'`, which supersedes X-Frame-Options).
 */
export type ContentKind = 'chat_page' | 'admin_page' | 'asset' | 'data';

// 'self' covers ws:/wss: to this host too (CSP Level 3), which is where /socket/websocket is.
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
];

const CHAT_PAGE_CSP = [...PAGE_POLICY, "style-src 'self'"].join('; ');
const ADMIN_PAGE_CSP = [...PAGE_POLICY, "style-src 'self' 'unsafe-inline'"].join('; ');
const DATA_CSP = "default-src 'none'; frame-ancestors 'none'";

const COMMON: ReadonlyArray<readonly [string, string]> = [
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
];

export function securityHeaders(kind: ContentKind): ReadonlyArray<readonly [string, string]> {
  switch (kind) {
    case 'chat_page':
      return [...COMMON, ['content-security-policy', CHAT_PAGE_CSP]];
    case 'admin_page':
      return [...COMMON, ['content-security-policy', ADMIN_PAGE_CSP]];
    case 'asset':
      return COMMON;
    case 'data':
      return [...COMMON, ['content-security-policy', DATA_CSP]];
  }
}
