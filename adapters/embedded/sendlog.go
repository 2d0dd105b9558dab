package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tidings-chat/tidings/commands"
)

var _ commands.SendLog = (*SendLog)(nil)

// SendLog keeps client_msg_id reservations under "s/<from>/<client_msg_id>".
// Records are kept for ever in the embedded store. Safe for concurrent use.
type SendLog struct {
	db *pebble.DB
	mu sync.Mutex // makes Reserve's check-and-set atomic
}

// Reserve implements commands.SendLog.
func (s *SendLog) Reserve(_ context.Context, rec commands.SendRecord) (commands.SendRecord, bool, error) {
	key := []byte("s/" + string(rec.From) + "/" + rec.ClientMsgID)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := get(s.db, key)
	if err == nil {
		var stored commands.SendRecord
		if err := json.Unmarshal(v, &stored); err != nil {
			return commands.SendRecord{}, false, fmt.Errorf("decode send record: %w", err)
		}
		return stored, false, nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return commands.SendRecord{}, false, fmt.Errorf("read send record: %w", err)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return commands.SendRecord{}, false, err
	}
	if err := s.db.Set(key, b, pebble.Sync); err != nil {
		return commands.SendRecord{}, false, fmt.Errorf("store send record: %w", err)
	}
	return rec, true, nil
}
