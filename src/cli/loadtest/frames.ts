import { z } from 'zod';

/**
 * The few Phoenix V2 frames the load tester reads and writes (PROTOCOL.md §2).
 * Incoming frames are checked with zod: a server that sends garbage must show
 * up as an error count, not as a crash or a silently wrong figure.
 */

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// z.custom, not z.record: a record schema rebuilds the object key by key, which at a
// million broadcasts a second is the load tester's own bottleneck.
const payload = z.custom<Record<string, unknown>>(isObject, 'payload must be a JSON object');

const frameSchema = z.tuple([z.string().nullable(), z.string().nullable(), z.string(), z.string(), payload]);

export interface Frame {
  readonly joinRef: string | null;
  readonly ref: string | null;
  readonly topic: string;
  readonly event: string;
  readonly payload: Record<string, unknown>;
}

export const messageSchema = z.object({
  id: z.number().int().positive(),
  user: z.string(),
  body: z.string(),
  inserted_at: z.string(),
});
export type Message = z.infer<typeof messageSchema>;

export const replySchema = z.object({
  status: z.enum(['ok', 'error']),
  response: payload,
});

export const joinOkSchema = z.object({
  messages: z.array(messageSchema),
  user: z.object({ id: z.union([z.number(), z.string()]), name: z.string() }).optional(),
});

const presenceMetas = z.object({ metas: z.array(z.looseObject({ phx_ref: z.string() })) });
export const presenceStateSchema = z.record(z.string(), presenceMetas);
export const presenceDiffSchema = z.object({ joins: presenceStateSchema, leaves: presenceStateSchema });

export function decode(text: string): Frame | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'frame is not JSON';
  }
  const parsed = frameSchema.safeParse(json);
  if (!parsed.success) return `bad frame: ${parsed.error.issues[0]?.message ?? 'invalid'}`;
  const [joinRef, ref, topic, event, body] = parsed.data;
  return { joinRef, ref, topic, event, payload: body };
}

export const encodeJoin = (joinRef: string, topic: string, params: Record<string, unknown>): string =>
  JSON.stringify([joinRef, joinRef, topic, 'phx_join', params]);

export const encodePush = (joinRef: string, ref: string, topic: string, event: string, body: Record<string, unknown>): string =>
  JSON.stringify([joinRef, ref, topic, event, body]);

export const encodeHeartbeat = (ref: string): string => JSON.stringify([null, ref, 'phoenix', 'heartbeat', {}]);
