-- Sessions: a token works until expires_at (use does not extend it) or
-- until it is deleted (sign-out). Tokens issued before this migration get
-- 30 days from it; the column default keeps inserts of the previous release
-- working. A user may have a password: its argon2id hash in PHC string
-- form, NULL for none.
ALTER TABLE tokens ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now() + interval '30 days';

-- Finds expired tokens to prune.
CREATE INDEX tokens_expires_at_idx ON tokens (expires_at);

ALTER TABLE users ADD COLUMN password_hash text;
