-- The fencing token of shard moves: the catalog version at which a shard
-- last turned 'fenced'. A process whose cached catalog is older may have
-- written a fenced shard's rows to its old placement after the move's
-- catch-up began, so it must not record applied positions
-- (projections.Catalog.CheckFence reads this before every record).
ALTER TABLE catalog_version ADD COLUMN fence_version bigint NOT NULL DEFAULT 0;
