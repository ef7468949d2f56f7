import { errors, jwtVerify } from 'jose';
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';
import type { SignedUser } from '../chat/accounts.js';
import { userName } from '../chat/schemas.js';
import type { Config } from '../config.js';

/**
 * Signed tokens from an application that has its own accounts, as Phoenix apps
 * use Phoenix.Token and Centrifugo a JWT: `sub` is the user's stable id, `name`
 * the display name. Verified with jose against the one key and algorithm the
 * configuration names, whatever the token's header says (so `alg: none`, or an
 * HS256 token made with an RS256 public key as its secret, never passes).
 */

type TokenRefusal = { readonly reason: 'missing' | 'malformed' | 'bad_signature' | 'expired' | 'bad_claims' };

/** The 403 body each refusal gets at the upgrade. */
export const REFUSALS: Readonly<Record<TokenRefusal['reason'], string>> = {
  missing: 'this server wants a signed token: connect with ?token=<jwt>',
  malformed: 'the token is not a well-formed JWT',
  bad_signature: 'the token is not signed with this server key and algorithm',
  expired: 'the token has expired: get a fresh one and reconnect',
  bad_claims: 'the token needs a sub (1 to 255 characters) and a name (1 to 30 letters, digits, _ - .), and must be valid now',
};

const claims = z.object({
  sub: z.string().min(1).max(255),
  name: userName,
  exp: z.number().optional(),
});

export type VerifyToken = (token: string | null) => Promise<Result<SignedUser, TokenRefusal>>;

function refusalOf(error: unknown): TokenRefusal['reason'] {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) return 'bad_claims';
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JOSEAlgNotAllowed) return 'bad_signature';
  return 'malformed';
}

/** The verifier the configuration asks for; undefined when sockets sign in with a browser token instead. */
export function tokenVerifier(config: Pick<Config, 'AUTH_JWT_SECRET' | 'AUTH_JWT_PUBLIC_KEY'>): VerifyToken | undefined {
  const { AUTH_JWT_SECRET: secret, AUTH_JWT_PUBLIC_KEY: publicKey } = config;
  const verification =
    secret !== undefined ? { key: new TextEncoder().encode(secret), algorithm: 'HS256' } : publicKey !== undefined ? publicKey : undefined;
  if (verification === undefined) return undefined;
  const { key } = verification;
  const algorithms = [verification.algorithm];
  return async (token) => {
    if (token === null || token === '') return err({ reason: 'missing' });
    try {
      const { payload } = await jwtVerify(token, key, { algorithms });
      const parsed = claims.safeParse(payload);
      if (!parsed.success) return err({ reason: 'bad_claims' });
      return ok({ sub: parsed.data.sub, name: parsed.data.name, exp: parsed.data.exp });
    } catch (error) {
      return err({ reason: refusalOf(error) });
    }
  };
}
