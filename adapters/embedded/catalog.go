package embedded

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

var _ projections.CatalogAdmin = (*Catalog)(nil)

// Catalog is the shard catalog in the embedded store, under "c/":
//
//	c/version          catalog version (8 bytes)
//	c/shard/<id>       shard entry (JSON)
//	c/placement/<id>   a known placement
//	c/node/<id>        a process's acknowledged version and lease (JSON)
//	c/move/<shard>     a move's checkpoint (JSON offsets)
//
// One process owns the embedded store, so the catalog has one reader; it
// still keeps versions and acknowledgements, so the same mover code runs
// on it. Safe for concurrent use.
type Catalog struct {
	db      *pebble.DB
	mu      sync.Mutex
	changed chan struct{}
}

// Catalog returns the embedded shard catalog.
func (d *DB) Catalog() *Catalog {
	d.catalogOnce.Do(func() { d.catalog = &Catalog{db: d.db, changed: make(chan struct{}, 1)} })
	return d.catalog
}

type storedShard struct {
	Placement string `json:"placement"`
	State     string `json:"state"`
	Target    string `json:"target,omitempty"`
	Epoch     int64  `json:"epoch"`
}

type storedNode struct {
	Version int64     `json:"version"`
	Until   time.Time `json:"until"`
}

func shardKey(id int) []byte { return binary.BigEndian.AppendUint32([]byte("c/shard/"), uint32(id)) }
func moveKey(id int) []byte  { return binary.BigEndian.AppendUint32([]byte("c/move/"), uint32(id)) }

var placementPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// EnsureShards creates every virtual shard on placement unless the catalog
// has shards already.
func (c *Catalog) EnsureShards(_ context.Context, placement string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := get(c.db, shardKey(0)); err == nil {
		return nil
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return err
	}
	b := c.db.NewBatch()
	defer b.Close()
	raw, _ := json.Marshal(storedShard{Placement: placement, State: string(projections.ShardActive), Epoch: 1})
	for id := range domain.VirtualShards {
		_ = b.Set(shardKey(id), raw, nil)
	}
	_ = b.Set([]byte("c/placement/"+placement), nil, nil)
	_ = b.Set([]byte("c/version"), binary.BigEndian.AppendUint64(nil, 1), nil)
	return b.Commit(pebble.Sync)
}

// Load implements projections.CatalogSource.
func (c *Catalog) Load(context.Context) (int64, []projections.ShardInfo, error) {
	var version int64
	if v, err := get(c.db, []byte("c/version")); err == nil {
		version = int64(binary.BigEndian.Uint64(v))
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return 0, nil, err
	}
	prefix := []byte("c/shard/")
	it, err := c.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, nil, err
	}
	defer it.Close()
	var out []projections.ShardInfo
	for it.First(); it.Valid(); it.Next() {
		var s storedShard
		if err := json.Unmarshal(it.Value(), &s); err != nil {
			return 0, nil, fmt.Errorf("decode shard: %w", err)
		}
		out = append(out, projections.ShardInfo{ID: int(binary.BigEndian.Uint32(it.Key()[len(prefix):])),
			Placement: s.Placement, State: projections.ShardState(s.State), Target: s.Target, Epoch: s.Epoch})
	}
	return version, out, it.Error()
}

// Ack implements projections.CatalogSource.
func (c *Catalog) Ack(_ context.Context, node string, version int64, lease time.Duration) error {
	raw, _ := json.Marshal(storedNode{Version: version, Until: time.Now().Add(lease)})
	return c.db.Set([]byte("c/node/"+node), raw, pebble.NoSync)
}

// Changed implements projections.CatalogSource.
func (c *Catalog) Changed() <-chan struct{} { return c.changed }

// UpdateShard implements projections.CatalogAdmin.
func (c *Catalog) UpdateShard(_ context.Context, id int, fn func(*projections.ShardInfo) error) (projections.ShardInfo, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	raw, err := get(c.db, shardKey(id))
	if err != nil {
		return projections.ShardInfo{}, 0, fmt.Errorf("read shard %d: %w", id, err)
	}
	var s storedShard
	if err := json.Unmarshal(raw, &s); err != nil {
		return projections.ShardInfo{}, 0, err
	}
	info := projections.ShardInfo{ID: id, Placement: s.Placement, State: projections.ShardState(s.State), Target: s.Target, Epoch: s.Epoch}
	if err := fn(&info); err != nil {
		return projections.ShardInfo{}, 0, err
	}
	info.ID, info.Epoch = id, s.Epoch+1
	var version int64 = 1
	if v, err := get(c.db, []byte("c/version")); err == nil {
		version = int64(binary.BigEndian.Uint64(v)) + 1
	}
	b := c.db.NewBatch()
	defer b.Close()
	out, _ := json.Marshal(storedShard{Placement: info.Placement, State: string(info.State), Target: info.Target, Epoch: info.Epoch})
	_ = b.Set(shardKey(id), out, nil)
	_ = b.Set([]byte("c/version"), binary.BigEndian.AppendUint64(nil, uint64(version)), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return projections.ShardInfo{}, 0, err
	}
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return info, version, nil
}

// AddPlacement implements projections.CatalogAdmin. Placement ids name
// directories (embedded) and keyspaces (Cassandra): a lower-case letter,
// then up to 47 of a-z, 0-9 and '_'.
func (c *Catalog) AddPlacement(_ context.Context, id string) error {
	if !placementPattern.MatchString(id) {
		return fmt.Errorf("placement %q: want a lower-case letter, then up to 47 of a-z, 0-9 and '_'", id)
	}
	return c.db.Set([]byte("c/placement/"+id), nil, pebble.Sync)
}

// Placements implements projections.CatalogAdmin.
func (c *Catalog) Placements(context.Context) ([]string, error) {
	prefix := []byte("c/placement/")
	it, err := c.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []string
	for it.First(); it.Valid(); it.Next() {
		out = append(out, string(it.Key()[len(prefix):]))
	}
	return out, it.Error()
}

// Checkpoint implements projections.CatalogAdmin.
func (c *Catalog) Checkpoint(_ context.Context, shard int) (map[int32]int64, error) {
	raw, err := get(c.db, moveKey(shard))
	if errors.Is(err, pebble.ErrNotFound) {
		return map[int32]int64{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	return out, json.Unmarshal(raw, &out)
}

// SaveCheckpoint implements projections.CatalogAdmin.
func (c *Catalog) SaveCheckpoint(_ context.Context, shard int, next map[int32]int64) error {
	if next == nil {
		return c.db.Delete(moveKey(shard), pebble.Sync)
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return err
	}
	return c.db.Set(moveKey(shard), raw, pebble.Sync)
}

// NodesBehind implements projections.CatalogAdmin.
func (c *Catalog) NodesBehind(_ context.Context, version int64) ([]string, error) {
	prefix := []byte("c/node/")
	it, err := c.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var behind []string
	now := time.Now()
	for it.First(); it.Valid(); it.Next() {
		var n storedNode
		if err := json.Unmarshal(it.Value(), &n); err != nil {
			return nil, err
		}
		if n.Until.After(now) && n.Version < version {
			behind = append(behind, string(it.Key()[len(prefix):]))
		}
	}
	return behind, it.Error()
}

// OpenPlacement opens the view store of a placement other than the main
// store's: its own Pebble database under dir/placements/<id>.
func OpenPlacement(dir, id string) (*DB, error) {
	if !placementPattern.MatchString(id) {
		return nil, fmt.Errorf("placement %q: want a lower-case letter, then up to 47 of a-z, 0-9 and '_'", id)
	}
	return Open(filepath.Join(dir, "placements", id))
}
