package main

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// histogram is a log-linear latency histogram in the spirit of HDR
// Histogram: values (microseconds) below 128 have their own bucket, larger
// ones fall in one of 64 linear sub-buckets per power of two, so a recorded
// value is reported within 1.6 % of its true value, whatever its size. It
// is safe for concurrent use.
type histogram struct {
	mu     sync.Mutex
	counts []uint64
	n      uint64
	sum    float64
	max    uint64
}

const (
	subBits    = 6 // 64 sub-buckets per power of two
	linearTop  = 1 << (subBits + 1)
	maxBuckets = linearTop + (64-subBits-1)*(1<<subBits)
)

func newHistogram() *histogram { return &histogram{counts: make([]uint64, maxBuckets)} }

func bucketOf(v uint64) int {
	if v < linearTop {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return linearTop + (shift-1)*(1<<subBits) + int(v>>shift) - (1 << subBits)
}

// bucketValue is the highest value that falls in bucket i.
func bucketValue(i int) uint64 {
	if i < linearTop {
		return uint64(i)
	}
	j := i - linearTop
	shift := j/(1<<subBits) + 1
	sub := uint64(j%(1<<subBits) + (1 << subBits))
	return (sub+1)<<shift - 1
}

// Record adds one latency; negative ones count as zero.
func (h *histogram) Record(d time.Duration) {
	v := uint64(max(d.Microseconds(), 0))
	h.mu.Lock()
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += float64(v)
	h.max = max(h.max, v)
	h.mu.Unlock()
}

// Merge adds every value of o into h.
func (h *histogram) Merge(o *histogram) {
	o.mu.Lock()
	counts := append([]uint64(nil), o.counts...)
	n, sum, mx := o.n, o.sum, o.max
	o.mu.Unlock()
	h.mu.Lock()
	for i, c := range counts {
		h.counts[i] += c
	}
	h.n += n
	h.sum += sum
	h.max = max(h.max, mx)
	h.mu.Unlock()
}

// Reset empties h and returns what it held.
func (h *histogram) Reset() *histogram {
	out := newHistogram()
	h.mu.Lock()
	h.counts, out.counts = out.counts, h.counts
	h.n, out.n = 0, h.n
	h.sum, out.sum = 0, h.sum
	h.max, out.max = 0, h.max
	h.mu.Unlock()
	return out
}

// Count is how many values were recorded.
func (h *histogram) Count() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Quantile returns the value at quantile q (0..1), in microseconds, never
// above the largest value recorded.
func (h *histogram) Quantile(q float64) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketValue(i), h.max)
		}
	}
	return h.max
}

// summary is a histogram's report in milliseconds.
type summary struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

func (h *histogram) Summary() summary {
	ms := func(us uint64) float64 { return math.Round(float64(us)) / 1000 }
	s := summary{Count: h.Count(), P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999))}
	h.mu.Lock()
	if h.n > 0 {
		s.Mean = math.Round(h.sum/float64(h.n)) / 1000
	}
	s.Max = ms(h.max)
	h.mu.Unlock()
	return s
}
