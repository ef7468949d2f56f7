import { z } from 'zod';
import { messageId, userName } from '../chat/schemas.js';

/** What clients may send in each event: parsed before anything is done with it. */

const lastSeenId = z.number({ error: 'must be a number' }).int().nonnegative().optional().nullable();

/** A browser signs in on each room join with the name it chose and its own random token. */
export const roomJoin = z.object({
  username: userName,
  token: z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be 16 to 128 letters, digits, _ or -'),
  last_seen_id: lastSeenId,
});

/** A socket that connected with a signed token is signed in already: a username, if sent, must be its. */
export const signedRoomJoin = z.object({ username: userName.optional(), last_seen_id: lastSeenId });

export const deleteMsg = z.object({ id: messageId });
export const loadOlder = z.object({ before_id: messageId });
export const loadAround = z.object({ id: messageId });

export const USER_SOCKETS_PREFIX = 'users_socket:';
