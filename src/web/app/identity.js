// Who this tab is. By default the username and a random token live in
// localStorage so every tab of this browser shares them: the token is what owns
// the name on the server (NAMES=claim: for good; NAMES=open: while this browser
// is online). When the server takes signed tokens, the token says who this is
// (signed-token.js) and there is no name to pick. The server tells which in
// <html data-*>.

import { usernameProblem } from './rules.js';
import { signedUser } from './signed-token.js';
import { browserStore } from './storage.js';

export const SIGNED = document.documentElement.dataset.auth === 'jwt';
export const NAMES_OPEN = document.documentElement.dataset.names === 'open';

const USERNAME_KEY = 'otp-chat.username';
const TOKEN_KEY = 'otp-chat.token';
const TOKEN_RE = /^[A-Za-z0-9_-]{16,128}$/;
// 64 symbols, so masking a random byte with 63 picks each one with equal chance.
const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

export function randomToken(length = 32) {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => TOKEN_ALPHABET[byte & 63]).join('');
}

/** Read on every join rather than cached, so tabs converge on whichever token was stored. */
export function browserToken() {
  const stored = browserStore.get(TOKEN_KEY);
  if (stored !== null && TOKEN_RE.test(stored)) return stored;
  const token = randomToken();
  browserStore.set(TOKEN_KEY, token);
  return token;
}

export function savedUsername() {
  if (SIGNED) return signedUser()?.name ?? null;
  const name = browserStore.get(USERNAME_KEY);
  return name !== null && usernameProblem(name) === null ? name : null;
}

/** The name a room was entered with, as the server spelled it: the form offers it next time. */
export const saveUsername = (name) => browserStore.set(USERNAME_KEY, name);
