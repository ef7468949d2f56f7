-- Users and their messages.

CREATE TABLE users (
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text        NOT NULL CHECK (name ~ '^[A-Za-z0-9_.-]{1,30}$'),
  inserted_at timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- A name belongs to one user whatever its case.
CREATE UNIQUE INDEX users_name_lower_idx ON users (lower(name));

CREATE TABLE messages (
  -- Identity ids are the ordered cursor clients catch up from (last_seen_id).
  id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  room        text        NOT NULL CHECK (room ~ '^[a-z0-9_-]{1,32}$'),
  user_id     uuid        NOT NULL REFERENCES users (id),
  body        text        NOT NULL CHECK (char_length(body) BETWEEN 1 AND 500),
  inserted_at timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  -- 'simple' config: no language-specific stemming for a chat in any language.
  search      tsvector    GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED
);
CREATE INDEX messages_room_id_idx ON messages (room, id);
CREATE INDEX messages_user_id_idx ON messages (user_id);
CREATE INDEX messages_search_idx ON messages USING gin (search);
