package datakeys_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tidings-chat/tidings/adapters/datakeys"
)

// BenchmarkSeal and BenchmarkOpen: the cost sealing adds per message, for
// a 200-byte text (the brief's average) with its key cached.
func BenchmarkSeal(b *testing.B) {
	e := newEnv(b, datakeys.Config{})
	text := strings.Repeat("x", 200)
	m := e.message(b, text)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.keys.Seal(ctx, m.From, m.To, m.ID, text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	e := newEnv(b, datakeys.Config{})
	m := e.message(b, strings.Repeat("x", 200))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.keys.Open(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
