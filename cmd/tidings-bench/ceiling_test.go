package main

import (
	"context"
	"testing"
	"time"
)

// TestCeilings runs each in-process ceiling briefly: it must do work,
// fail nothing, and account CPU to it.
func TestCeilings(t *testing.T) {
	tests := []struct {
		name string
		run  func(context.Context, *config) (*ceilingResult, error)
	}{
		{"produce embedded", ceilingProduce},
		{"http", func(ctx context.Context, c *config) (*ceilingResult, error) { return ceilingHTTP(ctx, c, c.Duration) }},
		{"ws", func(ctx context.Context, c *config) (*ceilingResult, error) { return ceilingWS(ctx, c, c.Duration) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &config{Concurrency: 4, Duration: 300 * time.Millisecond, TextSize: 100}
			res, err := tt.run(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if res.Ops < 10 || res.Failed != 0 || res.FirstError != "" {
				t.Fatalf("%s: %d ops, %d failed (%s); want work and no failures", tt.name, res.Ops, res.Failed, res.FirstError)
			}
			if res.Rate <= 0 || res.CPUMicrosPerOp <= 0 || res.Seconds < 0.3 {
				t.Errorf("%s: rate %.0f/s, %.1f µs CPU per op over %.2f s", tt.name, res.Rate, res.CPUMicrosPerOp, res.Seconds)
			}
		})
	}
}

func TestBareMessagesHandlerRefusesBadBodies(t *testing.T) {
	bare, err := startBare(bareMessagesHandler())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bare.stop)
	a := newAPI(bare.base, 1, &errorCounts{})
	tests := []struct {
		name string
		body []byte
		ok   bool
	}{
		{"send body", appendSendBody(nil, "u1", "hi", "c1"), true},
		{"not JSON", []byte("{"), false},
		{"no recipient", []byte(`{"text":"hi"}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var id string
			err := a.roundTrip(context.Background(), "POST", "/messages", "t", tt.body, func(b []byte) (err error) {
				id, err = answerID(b)
				return err
			})
			if (err == nil) != tt.ok || (tt.ok && id == "") {
				t.Errorf("POST %s: id %q, err %v; want ok %v", tt.body, id, err, tt.ok)
			}
		})
	}
}
