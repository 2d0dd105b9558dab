package embedded

import (
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

func TestEventCodecConversationRead(t *testing.T) {
	at := time.Date(2026, 12, 7, 20, 1, 2, 345678901, time.UTC)
	ev := domain.ConversationRead{ID: "01M", From: "a", To: "b", ReadAt: at}
	raw, err := encodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	if raw[1] != codeConversationRead {
		t.Fatalf("type code %d, want %d", raw[1], codeConversationRead)
	}
	if got, err := decodeEvent(raw); err != nil || got != ev {
		t.Fatalf("binary round trip: %+v, %v", got, err)
	}
	js, err := domain.MarshalEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := decodeEvent(js); err != nil || got != ev {
		t.Fatalf("JSON round trip: %+v, %v", got, err)
	}
	for i := range raw {
		if _, err := decodeEvent(raw[:i]); err == nil {
			t.Fatalf("a record cut at %d bytes decoded", i)
		}
	}
}
