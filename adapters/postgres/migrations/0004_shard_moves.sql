-- Online shard moves: a shard being moved has a target placement and may be
-- fenced; every change bumps the catalog version and notifies the
-- processes (LISTEN tidings_catalog), which acknowledge each version they
-- apply with a lease; a move waits for the acknowledgements.
ALTER TABLE shards DROP CONSTRAINT shards_state_known;
ALTER TABLE shards ADD CONSTRAINT shards_state_known CHECK (state IN ('active', 'moving', 'fenced'));
ALTER TABLE shards ADD COLUMN target_placement text REFERENCES placements (id);

CREATE TABLE catalog_version (
    id      boolean NOT NULL DEFAULT true,
    version bigint  NOT NULL,
    CONSTRAINT catalog_version_pkey PRIMARY KEY (id),
    CONSTRAINT catalog_version_single_row CHECK (id)
);
INSERT INTO catalog_version (id, version) VALUES (true, 1);

-- One row per process: the catalog version it applied and how long its
-- lease runs. A process whose lease has run out stops writing views.
CREATE TABLE catalog_nodes (
    node        text        NOT NULL,
    version     bigint      NOT NULL,
    lease_until timestamptz NOT NULL,
    CONSTRAINT catalog_nodes_pkey PRIMARY KEY (node)
);

-- A move's checkpoint: the next offset per partition copied so far.
CREATE TABLE shard_moves (
    shard      integer     NOT NULL,
    offsets    jsonb       NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shard_moves_pkey PRIMARY KEY (shard),
    CONSTRAINT shard_moves_shard_fkey FOREIGN KEY (shard) REFERENCES shards (id)
);
