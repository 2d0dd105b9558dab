package embedded

import (
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

func TestEventCodecEdits(t *testing.T) {
	at := time.Date(2026, 12, 7, 20, 1, 2, 345678901, time.UTC)
	id := domain.MessageID(domain.NewID(at))
	a, b := domain.UserID(domain.NewID(at)), domain.UserID(domain.NewID(at))
	for _, ev := range []domain.Event{
		domain.MessageEdited{ID: id, From: a, To: b, SentAt: at, Version: 3, Text: "héllo again 👋", EditedAt: at.Add(time.Minute)},
		domain.MessageDeleted{ID: id, From: a, To: b, SentAt: at, DeletedAt: at.Add(time.Hour)},
		domain.MessageHidden{ID: id, From: a, To: b, SentAt: at, By: b, HiddenAt: at.Add(time.Second)},
		domain.MessageSent{ID: domain.MessageID(domain.NewID(at.Add(time.Hour))), From: b, To: a, Text: "reply", ClientMsgID: "c-9", SentAt: at.Add(time.Hour),
			Retry: true, ReplyTo: id, ReplyVersion: 2},
		domain.MessageReacted{ID: id, From: a, To: b, SentAt: at, By: b, Emoji: "👍🏽", Version: 2, At: at.Add(time.Minute)},
		domain.MessageReacted{ID: id, From: a, To: b, SentAt: at, By: a, Version: 1, At: at.Add(time.Minute)},
	} {
		t.Run(ev.Type(), func(t *testing.T) {
			raw, err := encodeEvent(ev)
			if err != nil {
				t.Fatal(err)
			}
			if raw[1] < 10 || raw[1] > 19 {
				t.Fatalf("type code %d is outside this feature's range 10-19", raw[1])
			}
			if got, err := decodeEvent(raw); err != nil || got != ev {
				t.Fatalf("binary round trip: %+v, %v; want %+v", got, err, ev)
			}
			js, err := domain.MarshalEvent(ev)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := domain.UnmarshalEvent(js); err != nil || got != ev {
				t.Fatalf("JSON (Kafka) round trip: %+v, %v; want %+v", got, err, ev)
			}
			if err := domain.ValidateEvent(ev); err != nil {
				t.Fatalf("a command's event is refused: %v", err)
			}
			for i := range raw {
				if _, err := decodeEvent(raw[:i]); err == nil {
					t.Fatalf("a record cut at %d bytes decoded", i)
				}
			}
		})
	}
	for _, ev := range []domain.Event{
		domain.MessageEdited{ID: id, From: a, To: b, SentAt: at, Version: 1, Text: "x", EditedAt: at},
		domain.MessageEdited{ID: id, From: a, To: b, SentAt: at, Version: 2, Text: " ", EditedAt: at},
		domain.MessageDeleted{ID: id, From: a, To: b, SentAt: at},
		domain.MessageHidden{ID: id, From: a, To: b, SentAt: at, By: "c", HiddenAt: at},
	} {
		if err := domain.ValidateEvent(ev); err == nil {
			t.Errorf("ValidateEvent(%+v) accepted an event no command writes", ev)
		}
	}
}
