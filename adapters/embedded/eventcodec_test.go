package embedded

import (
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

func TestEventCodec(t *testing.T) {
	at := time.Date(2026, 12, 7, 20, 1, 2, 345678901, time.UTC)
	events := []struct {
		name string
		ev   domain.Event
	}{
		{"sent", domain.MessageSent{ID: "01M", From: "a", To: "b", Text: "héllo 👋", ClientMsgID: "c-1", SentAt: at}},
		{"sent without client id", domain.MessageSent{ID: "01M", From: "a", To: "b", Text: "x", SentAt: at}},
		{"retried send", domain.MessageSent{ID: "01M", From: "a", To: "b", Text: "x", ClientMsgID: "c-1", SentAt: at, Retry: true}},
		{"delivered", domain.MessageDelivered{ID: "01M", From: "a", To: "b", SentAt: at, DeliveredAt: at.Add(time.Second)}},
		{"read", domain.MessageRead{ID: "01M", From: "a", To: "b", SentAt: at, ReadAt: at.Add(time.Minute)}},
		{"receipt", domain.MessageReceipt{ID: "01M", From: "a", To: "b", SentAt: at, Status: domain.StatusRead, At: at}},
		{"zero times", domain.MessageRead{ID: "01M", From: "a", To: "b"}},
	}
	for _, tc := range events {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := encodeEvent(tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeEvent(raw)
			if err != nil || got != tc.ev {
				t.Fatalf("binary round trip: %+v, %v; want %+v", got, err, tc.ev)
			}
			js, err := domain.MarshalEvent(tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := decodeEvent(js); err != nil || got != tc.ev {
				t.Fatalf("JSON record of an earlier version: %+v, %v", got, err)
			}
			for i := range raw {
				if _, err := decodeEvent(raw[:i]); err == nil {
					t.Fatalf("a record cut at %d bytes decoded", i)
				}
			}
		})
	}
	bad := [][]byte{nil, {2}, {eventBinary, 9, 1}, {eventBinary, codeSent, 2}}
	// A send record without the flags byte (written before it was kept)
	// still reads, as a first send.
	var old rowWriter
	old.b = append(old.b, eventBinary, codeSent, domain.EventVersion)
	for _, f := range []string{"01M", "a", "b", "x", ""} {
		old.str(f)
	}
	old.exactTime(at)
	if got, err := decodeEvent(old.b); err != nil || got != (domain.MessageSent{ID: "01M", From: "a", To: "b", Text: "x", SentAt: at}) {
		t.Fatalf("send record without flags: %+v, %v", got, err)
	}
	receipt, _ := encodeEvent(domain.MessageReceipt{ID: "m", From: "a", To: "b", SentAt: at, Status: domain.StatusRead, At: at})
	var tail rowWriter
	tail.exactTime(at)
	notReceipt := append([]byte(nil), receipt...)
	notReceipt[len(receipt)-len(tail.b)-1] = byte(domain.StatusSent) // "sent" is no receipt status
	bad = append(bad, notReceipt)
	for _, b := range bad {
		if _, err := decodeEvent(b); err == nil {
			t.Errorf("decodeEvent(%v) accepted a corrupt record", b)
		}
	}
}
