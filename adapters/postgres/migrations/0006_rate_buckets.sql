-- Rate limits shared by every node: one token bucket per (name, key), e.g.
-- ('send', user id) or ('signup', client address). tokens is what the
-- bucket held at updated_at (PostgreSQL's clock, so node clocks do not
-- matter); granted is what the last take got. UNLOGGED: a crash empties
-- the table, which only refills every bucket (limits err toward letting
-- clients through), and writes skip the WAL.
CREATE UNLOGGED TABLE rate_buckets (
    name       text             NOT NULL,
    key        text             NOT NULL,
    tokens     double precision NOT NULL,
    granted    integer          NOT NULL,
    updated_at timestamptz      NOT NULL,
    CONSTRAINT rate_buckets_pkey PRIMARY KEY (name, key)
);
