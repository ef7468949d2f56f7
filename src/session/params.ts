import { z } from 'zod';
import { messageBody, messageId, userName } from '../chat/schemas.js';

/** What clients may send in each event: parsed before anything is done with it. */

export const roomJoin = z.object({
  username: userName,
  token: z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be 16 to 128 letters, digits, _ or -'),
  last_seen_id: z.number({ error: 'must be a number' }).int().nonnegative().optional().nullable(),
});

export const newMsg = z.object({ body: messageBody });
export const deleteMsg = z.object({ id: messageId });
export const loadOlder = z.object({ before_id: messageId });

export const ROOM_PREFIX = 'room:';
export const USER_SOCKETS_PREFIX = 'users_socket:';
