package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

type recordingLog struct{ got []domain.Event }

func (l *recordingLog) Append(_ context.Context, ev domain.Event) (domain.Position, error) {
	l.got = append(l.got, ev)
	return domain.Position{}, nil
}

func TestReceiptsRouteToTheSender(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sent := domain.MessageSent{ID: "m", From: "alice", To: "bob", Text: "hi", SentAt: at}
	tests := []struct {
		name string
		ev   domain.Event
		want []domain.Event
	}{
		{"sent makes none", sent, nil},
		{"delivered", domain.MessageDelivered{ID: "m", From: "alice", To: "bob", SentAt: at, DeliveredAt: at.Add(time.Second)},
			[]domain.Event{domain.MessageReceipt{ID: "m", From: "alice", To: "bob", SentAt: at, Status: domain.StatusDelivered, At: at.Add(time.Second)}}},
		{"read", domain.MessageRead{ID: "m", From: "alice", To: "bob", SentAt: at, ReadAt: at.Add(2 * time.Second)},
			[]domain.Event{domain.MessageReceipt{ID: "m", From: "alice", To: "bob", SentAt: at, Status: domain.StatusRead, At: at.Add(2 * time.Second)}}},
		{"a receipt makes none", domain.MessageReceipt{ID: "m", From: "alice", To: "bob", Status: domain.StatusRead}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &recordingLog{}
			if err := projections.NewReceipts(log).Handle(context.Background(), tc.ev, domain.Position{}); err != nil {
				t.Fatal(err)
			}
			if len(log.got) != len(tc.want) {
				t.Fatalf("appended %v, want %v", log.got, tc.want)
			}
			for i := range tc.want {
				if log.got[i] != tc.want[i] {
					t.Fatalf("appended %+v, want %+v", log.got[i], tc.want[i])
				}
				if log.got[i].Key() != "alice" {
					t.Fatalf("receipt keyed by %s, want the sender", log.got[i].Key())
				}
			}
		})
	}
}
