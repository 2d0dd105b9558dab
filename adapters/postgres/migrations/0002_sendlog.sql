-- The send log: one reservation per (sender, client_msg_id), remembering the
-- message the first send produced so that a retry returns that message.
-- created_at is the database's clock at reservation; PruneSendLog deletes
-- rows older than the retention (7 days by default) using it.
CREATE TABLE send_log (
    from_user     text        NOT NULL,
    client_msg_id text        NOT NULL,
    message_id    text        NOT NULL,
    to_user       text        NOT NULL,
    sent_at       timestamptz NOT NULL,
    digest        bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT send_log_pkey PRIMARY KEY (from_user, client_msg_id),
    CONSTRAINT send_log_digest_sha256 CHECK (octet_length(digest) = 32)
);

-- Serves the retention sweep.
CREATE INDEX send_log_created_at_idx ON send_log (created_at);
