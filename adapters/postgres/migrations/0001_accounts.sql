-- Accounts: users and the SHA-256 hashes of their bearer tokens. A token
-- itself is never stored. Names are unique and compared byte for byte.
CREATE TABLE users (
    id         text        NOT NULL,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_name_key UNIQUE (name)
);

CREATE TABLE tokens (
    hash       bytea       NOT NULL,
    user_id    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tokens_pkey PRIMARY KEY (hash),
    CONSTRAINT tokens_hash_sha256 CHECK (octet_length(hash) = 32),
    CONSTRAINT tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

-- Finds a user's tokens (revocation, the cascade on user deletion).
CREATE INDEX tokens_user_id_idx ON tokens (user_id);
