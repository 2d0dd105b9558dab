-- 0008: the data key of each author's messages in each conversation
-- (adapters/datakeys). Message text is sealed with it before it is
-- appended to the event log; deleting the user deletes its keys (ON DELETE
-- CASCADE, in the same statement), and no key can be made for a user that
-- does not exist (the foreign key), so every copy of a deleted user's text
-- stays unreadable.
CREATE TABLE data_keys (
    author     text        NOT NULL,
    peer       text        NOT NULL,
    key        bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT data_keys_pkey PRIMARY KEY (author, peer),
    CONSTRAINT data_keys_key_size CHECK (octet_length(key) = 32),
    CONSTRAINT data_keys_author_fkey FOREIGN KEY (author) REFERENCES users (id) ON DELETE CASCADE
);
