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
		{"receipts fed", storedMessage{ID: "m4", From: "a", To: "b", Text: "y", SentAt: at, Status: 3, Fed: 1<<2 | 1<<3,
			DeliveredAt: at, ReadAt: at}},
	}
	for _, tc := range msgs {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeMessage(encodeMessage(tc.m))
			if err != nil || got != tc.m {
				t.Fatalf("binary round trip: %+v, %v; want %+v", got, err, tc.m)
			}
			legacy, _ := json.Marshal(tc.m)
			got, err = decodeMessage(legacy)
			if err != nil || got.message() != tc.m.message() || !got.Legacy || got.Fed != 0 {
				t.Fatalf("JSON row of an earlier version: %+v, %v", got, err)
			}
			v1 := encodeMessage(tc.m)
			v1 = append([]byte{rowV1, v1[1]}, v1[3:]...) // version 1: no byte of receipts fed
			got, err = decodeMessage(v1)
			if err != nil || got.message() != tc.m.message() || !got.Legacy || got.Fed != 0 {
				t.Fatalf("binary row of version 1: %+v, %v", got, err)
			}
		})
	}
	c := storedConversation{LastID: "m9", LastAt: at, Unread: 7}
	if got, err := decodeConversation(encodeConversation(c)); err != nil || got != c {
		t.Fatalf("conversation round trip: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {9}, {rowV1}, {rowV1, 1, 200}, {rowV2, 1}, encodeMessage(msgs[0].m)[:10]} {
		if _, err := decodeMessage(bad); err == nil {
			t.Errorf("decodeMessage(%v) accepted a corrupt row", bad)
		}
	}
	f := storedFeedItem{Kind: 2, ID: "m1", From: "a", To: "b", SentAt: at, Status: 3, At: at.Add(time.Second)}
	if got, err := decodeFeedItem(encodeFeedItem(f)); err != nil || got != f {
		t.Fatalf("feed item round trip: %+v, %v", got, err)
	}
	legacy, _ := json.Marshal(f)
	if got, err := decodeFeedItem(legacy); err != nil || got != f {
		t.Fatalf("JSON feed item of an earlier version: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {rowV1, 1}, encodeFeedItem(f)[:8]} {
		if _, err := decodeFeedItem(bad); err == nil {
			t.Errorf("decodeFeedItem(%v) accepted a corrupt item", bad)
		}
	}
}
