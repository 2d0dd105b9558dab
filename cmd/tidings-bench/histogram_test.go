package main

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	h := newHistogram()
	for i := 1; i <= 100000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	tests := []struct {
		name string
		q    float64
		want uint64
	}{
		{"p50", 0.5, 50000},
		{"p99", 0.99, 99000},
		{"p99.9", 0.999, 99900},
		{"max", 1, 100000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := h.Quantile(tt.q)
			if got < tt.want || float64(got) > float64(tt.want)*1.016 {
				t.Errorf("quantile %v = %d, want %d within 1.6%%", tt.q, got, tt.want)
			}
		})
	}
}

func TestHistogramBucketsRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 1000, 123456, 1 << 40} {
		if b := bucketValue(bucketOf(v)); b < v || float64(b) > float64(v)*1.016+1 {
			t.Errorf("value %d lands in bucket reporting %d", v, b)
		}
	}
}
