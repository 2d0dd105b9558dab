package embedded

import (
	"testing"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

func TestEventCodecSyncEvents(t *testing.T) {
	at := time.Date(2026, 12, 7, 20, 1, 2, 345678901, time.UTC)
	tests := []struct {
		name string
		ev   domain.Event
		code byte
	}{
		{"conversation read", domain.ConversationRead{ID: "01M", From: "a", To: "b", ReadAt: at}, codeConversationRead},
		{"echo", domain.MessageEcho{ID: "01M", From: "a", To: "b", Text: "héllo", ClientMsgID: "c-1", SentAt: at}, codeEcho},
		{"echo without client id", domain.MessageEcho{ID: "01M", From: "a", To: "b", Text: "x", SentAt: at}, codeEcho},
		{"echo of a reply", domain.MessageEcho{ID: "01M", From: "a", To: "b", Text: "re", SentAt: at, ReplyTo: "01K", ReplyVersion: 3}, codeEchoReply},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkCodec(t, tc.ev, tc.code) })
	}
}

func checkCodec(t *testing.T, ev domain.Event, code byte) {
	raw, err := encodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	if raw[1] != code {
		t.Fatalf("type code %d, want %d", raw[1], code)
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
