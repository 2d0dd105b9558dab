-- The shard-metadata catalog: users map to a fixed number of virtual shards
-- (by the caller's hash of the user id), and each virtual shard lives on one
-- placement: a Cassandra keyspace for its views and a Kafka topic for its
-- events. EnsureCatalog seeds both tables; shard moves change
-- shards.placement_id, bumping epoch.
CREATE TABLE placements (
    id                 text        NOT NULL,
    cassandra_keyspace text        NOT NULL,
    kafka_topic        text        NOT NULL,
    kafka_partitions   integer     NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT placements_pkey PRIMARY KEY (id),
    CONSTRAINT placements_id_nonempty CHECK (id <> ''),
    CONSTRAINT placements_cassandra_keyspace_nonempty CHECK (cassandra_keyspace <> ''),
    CONSTRAINT placements_kafka_topic_nonempty CHECK (kafka_topic <> ''),
    CONSTRAINT placements_kafka_partitions_positive CHECK (kafka_partitions > 0)
);

CREATE TABLE shards (
    id           integer     NOT NULL,
    placement_id text        NOT NULL,
    state        text        NOT NULL DEFAULT 'active',
    epoch        bigint      NOT NULL DEFAULT 1,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shards_pkey PRIMARY KEY (id),
    CONSTRAINT shards_id_nonnegative CHECK (id >= 0),
    CONSTRAINT shards_state_known CHECK (state IN ('active', 'moving')),
    CONSTRAINT shards_epoch_positive CHECK (epoch > 0),
    CONSTRAINT shards_placement_id_fkey FOREIGN KEY (placement_id) REFERENCES placements (id)
);

-- Finds the shards of a placement (moves, and refusing to drop a placement
-- that still holds shards).
CREATE INDEX shards_placement_id_idx ON shards (placement_id);
