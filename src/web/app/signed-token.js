// A signed token (AUTH_JWT_*): the application that has the accounts opens
// this page with #token=<jwt>, and the token says who this is.

import { tabStore } from './storage.js';

const SIGNED_KEY = 'otp-chat.signed-token';

/** The signed token this tab was given (#token=... once, then sessionStorage), or null. */
export function signedToken() {
  const given = /(?:^#|&)token=([A-Za-z0-9_.-]+)/.exec(location.hash);
  if (given !== null) {
    tabStore.set(SIGNED_KEY, given[1]);
    history.replaceState(history.state, '', location.pathname + location.search);
    return given[1];
  }
  return tabStore.get(SIGNED_KEY);
}

/** What the token says (read, not verified: the server verifies it), or null if there is none that reads. */
export function signedUser() {
  const token = signedToken();
  if (token === null) return null;
  try {
    const part = token.split('.')[1].replaceAll('-', '+').replaceAll('_', '/');
    const claims = JSON.parse(atob(part));
    return typeof claims.name === 'string' ? { name: claims.name, exp: typeof claims.exp === 'number' ? claims.exp : null } : null;
  } catch {
    return null;
  }
}

/** Why this tab cannot sign in with a signed token, or null when it can. */
export function signedProblem() {
  const user = signedUser();
  if (user === null) return 'You are not signed in: open this chat from the application you use it with.';
  if (user.exp !== null && user.exp * 1000 <= Date.now()) return 'Your sign-in has expired: open this chat again from your application.';
  return null;
}
