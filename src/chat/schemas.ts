import { z } from 'zod';

/** The business rules on input, in one place; the database has matching CHECK constraints. */

export const userName = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .max(30, 'must be at most 30 characters')
  .regex(/^[A-Za-z0-9_.-]+$/, 'may contain only letters, digits and _ - .');

export const roomName = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(32, 'must be at most 32 characters')
  .regex(/^[a-z0-9_-]+$/, 'may contain only a-z, 0-9, _ and -');

export const messageBody = z
  .string({ error: 'must be a string' })
  .refine((body) => body.trim().length > 0, 'must not be blank')
  .refine((body) => [...body].length <= 500, 'must be at most 500 characters')
  // PostgreSQL text cannot hold NUL: refused here with a reason, not by the database as a failed write.
  .refine((body) => !body.includes('\u0000'), 'must not contain NUL characters');

/** A client's id for one send, so that a retry is known for one (PROTOCOL: new_msg). */
export const messageNonce = z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(64, 'must be at most 64 characters');

export const messageId = z.number({ error: 'must be a number' }).int('must be an integer').positive('must be positive');

export const searchQuery = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'is too long')
  .refine((query) => !query.includes('\u0000'), 'must not contain NUL characters');
