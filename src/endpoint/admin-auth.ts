import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Bearer token check in constant time. Both sides are hashed first:
 * timingSafeEqual needs equal lengths, and comparing lengths first would
 * tell an attacker the token's length.
 */
const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

export function bearerCheck(token: string): (authorization: string) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    // Compared even when absent, so a missing header takes as long as a wrong one.
    return timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
  };
}
