import { Socket, type Channel } from 'phoenix';
import { WebSocket } from 'ws';

/** The stock phoenix.js client in Node, over `ws` (PROTOCOL.md §12). */
export function connect(wsUrl: string, options: { params?: () => Record<string, unknown>; heartbeatIntervalMs?: number } = {}): Socket {
  const socket = new Socket(wsUrl, {
    transport: WebSocket,
    params: options.params ?? (() => ({})),
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 30_000,
    reconnectAfterMs: (tries: number) => [10, 50, 100, 200][tries - 1] ?? 300,
    rejoinAfterMs: (tries: number) => [200, 500, 1_000][tries - 1] ?? 2_000,
  });
  socket.connect();
  return socket;
}

export type Reply = { status: 'ok' | 'error' | 'timeout'; response: Record<string, unknown> };

/** Joins and resolves with the first answer (ok, error or timeout). */
export function join(channel: Channel, timeoutMs = 5_000): Promise<Reply> {
  return new Promise((resolve) => {
    channel
      .join(timeoutMs)
      .receive('ok', (response: Record<string, unknown>) => resolve({ status: 'ok', response }))
      .receive('error', (response: Record<string, unknown>) => resolve({ status: 'error', response }))
      .receive('timeout', () => resolve({ status: 'timeout', response: {} }));
  });
}

export function push(channel: Channel, event: string, payload: Record<string, unknown>, timeoutMs = 5_000): Promise<Reply> {
  return new Promise((resolve) => {
    channel
      .push(event, payload, timeoutMs)
      .receive('ok', (response: Record<string, unknown>) => resolve({ status: 'ok', response }))
      .receive('error', (response: Record<string, unknown>) => resolve({ status: 'error', response }))
      .receive('timeout', () => resolve({ status: 'timeout', response: {} }));
  });
}
