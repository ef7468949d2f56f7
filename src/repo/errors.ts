import type { CallError } from '../../supervision/index.js';
import { describeCallError } from '../../supervision/index.js';

/**
 * What can go wrong with a database operation, as a value a context can act on.
 * db_unavailable covers everything a client should retry later: the database is
 * down or slow, the Repo is restarting, the queue is full.
 */
export type RepoError =
  | { readonly reason: 'db_unavailable'; readonly detail: string }
  | { readonly reason: 'constraint'; readonly constraint: string; readonly detail: string }
  | { readonly reason: 'query_failed'; readonly detail: string };

const errorFields = (error: unknown): { code?: unknown; constraint_name?: unknown; message?: unknown } =>
  typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};

/**
 * postgres.js raises connection problems with string codes (ECONNREFUSED,
 * CONNECTION_CLOSED, CONNECT_TIMEOUT...) and server errors with SQLSTATE codes.
 */
export function classify(error: unknown): RepoError {
  const { code, constraint_name: constraint, message } = errorFields(error);
  const detail = typeof message === 'string' ? message : String(error);
  if (typeof code === 'string') {
    // Class 23: integrity constraint violation.
    if (code.startsWith('23')) return { reason: 'constraint', constraint: typeof constraint === 'string' ? constraint : code, detail };
    // Not a SQLSTATE (a socket error), class 08 connection exception, 57P0x shutdown, 53 resources.
    if (!/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08') || code.startsWith('57P') || code.startsWith('53')) {
      return { reason: 'db_unavailable', detail: `${code}: ${detail}` };
    }
  }
  return { reason: 'query_failed', detail };
}

export function fromCallError(error: CallError): RepoError {
  return { reason: 'db_unavailable', detail: `repo: ${describeCallError(error)}` };
}
