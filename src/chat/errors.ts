import type { z } from 'zod';
import type { RepoError } from '../repo/errors.js';

/**
 * Errors a client can show. `reason` is the stable machine word sent on the
 * wire; `errors` maps a field to what is wrong with it.
 */
export type ChatError =
  | { readonly reason: 'invalid_params'; readonly errors: Readonly<Record<string, string>> }
  | { readonly reason: 'db_unavailable' }
  | { readonly reason: 'not_found' }
  | { readonly reason: 'forbidden' }
  /** The name is someone else's. */
  | { readonly reason: 'username_taken' }
  /** It cannot be decided now (Presence did not answer); the client tries again. */
  | { readonly reason: 'unavailable' };

/** What is wrong with each field (the first issue of each), as `errors` on the wire. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) {
    const field = issue.path.map(String).join('.') || 'params';
    errors[field] ??= issue.message;
  }
  return errors;
}

export function invalid(error: z.ZodError): ChatError {
  return { reason: 'invalid_params', errors: fieldErrors(error) };
}

/** A constraint the context did not catch first still reaches the client as invalid input, never as a crash. */
export function fromRepo(error: RepoError): ChatError {
  switch (error.reason) {
    case 'constraint':
      return { reason: 'invalid_params', errors: { params: `rejected by the database (${error.constraint})` } };
    case 'db_unavailable':
    case 'query_failed':
      return { reason: 'db_unavailable' };
  }
}
