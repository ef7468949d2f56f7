import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import * as PubSub from '../pubsub/pubsub.js';
import { invalid, type ChatError } from './errors.js';
import { messageBody } from './schemas.js';

/**
 * Announcements: what the people who run the server tell everyone at once
 * ("restarting in 5 minutes"). One broadcast crosses to every node; each node
 * hands it to every room its sockets are in, as an `announcement` event on the
 * room's topic, so a client that joined a room gets it there. Nothing is stored:
 * who is not connected misses it, as with a broadcast in Phoenix.
 */

export const ANNOUNCEMENTS_TOPIC = 'chat:announcements';
const ANNOUNCEMENT_EVENT = 'announcement';

interface Announcement {
  /** One id per announcement: a client in several rooms shows it once. */
  readonly id: string;
  readonly body: string;
  /** When it was made, ms since the epoch. */
  readonly at: number;
}

const input = z.object({ body: messageBody });

export function announce(given: { readonly body: unknown }): Result<Announcement, ChatError> {
  const parsed = input.safeParse(given);
  if (!parsed.success) return err(invalid(parsed.error));
  const announcement: Announcement = { id: randomUUID(), body: parsed.data.body, at: Date.now() };
  PubSub.broadcast(ANNOUNCEMENTS_TOPIC, ANNOUNCEMENT_EVENT, { ...announcement });
  return ok(announcement);
}
