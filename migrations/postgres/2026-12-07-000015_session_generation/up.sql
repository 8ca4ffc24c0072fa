-- Every token of a user carries the generation of the user's sessions it was issued in; a
-- password change, a role change, a disable or "log out everywhere" starts a new generation, and
-- tokens of an older one are refused. Tokens issued before this migration carry none (0), the
-- generation every user starts at, so they stay valid until the first such change.
ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
