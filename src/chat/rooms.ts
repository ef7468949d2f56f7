import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import type { RoomActivity } from '../presence/directory.js';
import * as Repo from '../repo/repo.js';
import { fromRepo, type ChatError } from './errors.js';

/**
 * The rooms context: which rooms there are, as the landing page's directory
 * lists them. Who is online in each comes from Presence; when each last had a
 * message comes from Presence too once someone speaks, and from here for what
 * was said before this node started (Presence asks once per start).
 */

/** Rooms whose last activity a node starts with: well past the listing's 50, so rooms that empty can still be listed by it. */
export const SEEDED_ROOMS = 500;

/** Rooms listed on the landing page (the lobby join's `rooms`). */
export const LISTED_ROOMS = 50;

const activityRow = z.object({ room: z.string(), at: z.coerce.number() });

/**
 * Each room's newest message time, the most recent `limit` rooms. A GROUP BY
 * over messages would read every message; this walks messages_room_id_idx
 * (room, id) from one distinct room to the next (a loose index scan) and takes
 * each room's highest id: O(rooms x log messages). Deleted messages count:
 * the room was active then.
 */
export async function lastActivity(limit = SEEDED_ROOMS): Promise<Result<RoomActivity[], ChatError>> {
  const result = await Repo.run(async (sql) =>
    z.array(activityRow).parse(
      await sql`
        WITH RECURSIVE rooms (room) AS (
          (SELECT room FROM messages ORDER BY room LIMIT 1)
          UNION ALL
          SELECT (SELECT m.room FROM messages m WHERE m.room > r.room ORDER BY m.room LIMIT 1) FROM rooms r WHERE r.room IS NOT NULL
        )
        SELECT r.room, (extract(epoch FROM last.inserted_at) * 1000)::bigint AS at
        FROM rooms r
        CROSS JOIN LATERAL (SELECT m.inserted_at FROM messages m WHERE m.room = r.room ORDER BY m.id DESC LIMIT 1) last
        WHERE r.room IS NOT NULL
        ORDER BY at DESC, r.room LIMIT ${limit}`,
    ),
  );
  return result.ok ? ok(result.value) : err(fromRepo(result.error));
}
