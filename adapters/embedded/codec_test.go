package embedded

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRowCodecs(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 123e6, time.UTC)
	msgs := []struct {
		name string
		m    storedMessage
	}{
		{"sent", storedMessage{ID: "m1", From: "a", To: "b", Text: "héllo", SentAt: at, Status: 1}},
		{"read with client id", storedMessage{ID: "m2", From: "a", To: "b", Text: "x", ClientMsgID: "c-1", SentAt: at, Status: 3,
			DeliveredAt: at.Add(time.Second), ReadAt: at.Add(2 * time.Second)}},
		{"empty strings", storedMessage{ID: "m3", SentAt: at, Status: 1}},
	}
	for _, tc := range msgs {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeMessage(encodeMessage(tc.m))
			if err != nil || got != tc.m {
				t.Fatalf("binary round trip: %+v, %v; want %+v", got, err, tc.m)
			}
			legacy, _ := json.Marshal(tc.m)
			got, err = decodeMessage(legacy)
			if err != nil || got.message() != tc.m.message() {
				t.Fatalf("JSON row of an earlier version: %+v, %v", got, err)
			}
		})
	}
	c := storedConversation{LastID: "m9", LastAt: at, Unread: 7}
	if got, err := decodeConversation(encodeConversation(c)); err != nil || got != c {
		t.Fatalf("conversation round trip: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {9}, {rowV1}, {rowV1, 1, 200}, encodeMessage(msgs[0].m)[:10]} {
		if _, err := decodeMessage(bad); err == nil {
			t.Errorf("decodeMessage(%v) accepted a corrupt row", bad)
		}
	}
}
