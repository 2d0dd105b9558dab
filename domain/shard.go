package domain

import "hash/fnv"

// VirtualShards is the fixed number of virtual shards users are hashed
// into. It never changes: placements (where a shard's data lives) change
// instead, so moving data never rehashes users.
const VirtualShards = 1024

// ShardOf returns the virtual shard of a user: FNV-1a (64-bit) of the user
// id, modulo VirtualShards. The function is part of the storage format:
// changing it would move every user.
func ShardOf(u UserID) int {
	h := fnv.New64a()
	h.Write([]byte(u))
	return int(h.Sum64() % VirtualShards)
}

// PartitionOf returns the log partition that carries the events keyed by
// user u, for a topic of n partitions: the user's virtual shard modulo n.
// All of a user's events, and so all of a user's feed, sit in it.
func PartitionOf(u UserID, n int32) int32 {
	return int32(ShardOf(u) % int(n))
}
