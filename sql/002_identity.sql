-- Names that belong to someone, signed tokens, retries that do not double a message.

-- The browser token that owns the name, as a SHA-256 hex digest (never the token).
-- NULL on rows made before names were claimed: the next browser to sign in claims it.
ALTER TABLE users ADD COLUMN token_hash text CHECK (token_hash ~ '^[0-9a-f]{64}$');
-- With NAMES=open: when the holder last signed in (an offline name is taken over only after a pause).
ALTER TABLE users ADD COLUMN held_at timestamptz;
-- A signed token's `sub`: the user's stable id in the application that has the accounts.
ALTER TABLE users ADD COLUMN external_id text CHECK (char_length(external_id) BETWEEN 1 AND 255);
CREATE UNIQUE INDEX users_external_id_idx ON users (external_id) WHERE external_id IS NOT NULL;

-- Who wrote it, as the hash of the credential that signed in (browser token, or the signed token's sub).
ALTER TABLE messages ADD COLUMN author_token_hash text CHECK (author_token_hash ~ '^[0-9a-f]{64}$');
-- The client's id for a send: a retry with the same one finds the first row instead of making another.
ALTER TABLE messages ADD COLUMN nonce text CHECK (char_length(nonce) BETWEEN 1 AND 64);
CREATE UNIQUE INDEX messages_user_nonce_idx ON messages (user_id, nonce) WHERE nonce IS NOT NULL;
