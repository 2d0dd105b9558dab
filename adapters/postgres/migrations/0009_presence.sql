-- 0009: presence and privacy (issue 12). A user may hide their last seen (and
-- then sees nobody's). last_seen keeps when each user was last online; it
-- survives restarts. presence_nodes holds each serving node's last beat
-- and presence_conns which node holds connections of which user: a user is
-- online while a node that beat within a minute holds one of theirs.
-- Rows of nodes that died stay (a few bytes each) and count as offline;
-- the first node whose sweep finds one dead marks it swept and tells the
-- watchers of its users.
ALTER TABLE users ADD COLUMN hide_last_seen boolean NOT NULL DEFAULT false;

CREATE TABLE last_seen (
    user_id text        NOT NULL,
    at      timestamptz NOT NULL,
    CONSTRAINT last_seen_pkey PRIMARY KEY (user_id),
    -- Deleting an account deletes its presence (DELETE /me).
    CONSTRAINT last_seen_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE presence_nodes (
    node    text        NOT NULL,
    beat_at timestamptz NOT NULL,
    swept   boolean     NOT NULL DEFAULT false, -- its death was told (Sweep); a beat clears it
    CONSTRAINT presence_nodes_pkey PRIMARY KEY (node)
);

CREATE TABLE presence_conns (
    user_id text        NOT NULL,
    node    text        NOT NULL,
    since   timestamptz NOT NULL,
    CONSTRAINT presence_conns_pkey PRIMARY KEY (user_id, node),
    CONSTRAINT presence_conns_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
