-- When a user last signed in: the lobby lists the most recently seen first, a page at a time.
ALTER TABLE users ADD COLUMN last_seen_at timestamptz;
UPDATE users SET last_seen_at = inserted_at;
ALTER TABLE users ALTER COLUMN last_seen_at SET DEFAULT now(), ALTER COLUMN last_seen_at SET NOT NULL;
CREATE INDEX users_last_seen_idx ON users (last_seen_at DESC, id);
