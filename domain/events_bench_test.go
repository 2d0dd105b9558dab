package domain

import (
	"strings"
	"testing"
	"time"
)

func benchSent() MessageSent {
	at := time.Date(2026, 11, 26, 4, 31, 7, 123e6, time.UTC)
	return MessageSent{ID: MessageID(NewID(at)), From: UserID(NewID(at)), To: UserID(NewID(at)),
		Text: strings.Repeat("x", 100), ClientMsgID: "c-42", SentAt: at}
}

// BenchmarkMarshalEvent: encoding a MessageSent with 100 bytes of text
// into its JSON envelope (what every append pays).
//
//	go test -run '^$' -bench Event -benchmem ./domain/
func BenchmarkMarshalEvent(b *testing.B) {
	ev := benchSent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalEvent(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalEvent: decoding it again (what every consumer pays:
// the views projector, the receipts projector and every push tail).
func BenchmarkUnmarshalEvent(b *testing.B) {
	raw, err := MarshalEvent(benchSent())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalEvent(raw); err != nil {
			b.Fatal(err)
		}
	}
}
