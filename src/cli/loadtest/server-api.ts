import { z } from 'zod';

/**
 * What the load tester asks the server over HTTP: its memory (GET /metrics,
 * Prometheus text from prom-client), random session kills and announcements (the admin API).
 * Both are optional features of the server: an absent one is "n/a", not a crash.
 */

const TIMEOUT_MS = 5_000;

/** `process_resident_memory_bytes` from /metrics, or undefined when the server has no such metric. */
export async function residentBytes(httpUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!res.ok) return undefined;
    const match = /^process_resident_memory_bytes(?:\{[^}]*\})?\s+([0-9.eE+]+)\s*$/m.exec(await res.text());
    const value = match === null ? Number.NaN : Number(match[1]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const killReply = z.object({ requested: z.number(), killed: z.array(z.unknown()) });

type KillResult = { ok: true; killed: number } | { ok: false; error: string };

/** POST /admin/sessions/kill?count=N with the bearer token; how many sessions the server says it killed. */
export async function killSessions(httpUrl: string, token: string, count: number): Promise<KillResult> {
  try {
    const res = await fetch(`${httpUrl}/admin/sessions/kill?count=${count}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status === 401) return { ok: false, error: 'the server refused ADMIN_TOKEN (401)' };
    if (res.status === 404) return { ok: false, error: 'the server has no admin API (404: is ADMIN_TOKEN set for the server?)' };
    if (!res.ok) return { ok: false, error: `kill answered ${res.status}: ${text.slice(0, 200)}` };
    const parsed = killReply.safeParse(JSON.parse(text));
    return parsed.success ? { ok: true, killed: parsed.data.killed.length } : { ok: false, error: 'kill reply has an unexpected shape' };
  } catch (cause) {
    return { ok: false, error: `kill request failed: ${cause instanceof Error ? cause.message : String(cause)}` };
  }
}

const announceReply = z.object({ announced: z.object({ id: z.string() }) });

/** POST /admin/announce?body=... with the bearer token; the announcement's id. */
export async function announce(httpUrl: string, token: string, body: string): Promise<{ ok: true; id: string } | { ok: false; error: string }> {
  try {
    const res = await fetch(`${httpUrl}/admin/announce?body=${encodeURIComponent(body)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    if (!res.ok) return { ok: false, error: `announce answered ${res.status}: ${text.slice(0, 200)}` };
    const parsed = announceReply.safeParse(JSON.parse(text));
    return parsed.success ? { ok: true, id: parsed.data.announced.id } : { ok: false, error: 'announce reply has an unexpected shape' };
  } catch (cause) {
    return { ok: false, error: `announce request failed: ${cause instanceof Error ? cause.message : String(cause)}` };
  }
}
