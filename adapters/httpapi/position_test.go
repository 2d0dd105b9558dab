package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
)

// TestPositionOfNoPartition: a consistency token naming a partition the
// log does not have is refused at once (it could never be reached), while
// one of a real partition the views have not reached is waited for.
func TestPositionOfNoPartition(t *testing.T) {
	const wait = 2 * time.Second
	h := newHarness(t, httpapi.Config{ConsistencyWait: wait, Partitions: 4}, nil)
	_, token := h.user("alice")
	h.tracker.Advance(domain.Position{Partition: 1, Offset: 10})
	get := func(positions string) (*http.Response, time.Duration) {
		hdr := bearerHeader(token)
		hdr.Set(httpapi.PositionHeader, positions)
		start := time.Now()
		w := h.do(http.MethodGet, "/conversations", hdr, "")
		return w.Result(), time.Since(start)
	}
	for _, tc := range []struct{ name, positions string }{
		{"one past the last partition", "4-0"},
		{"far past", "2147483647-0"},
		{"among good ones", "1-3, 9-0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := bearerHeader(token)
			hdr.Set(httpapi.PositionHeader, tc.positions)
			start := time.Now()
			w := h.do(http.MethodGet, "/conversations", hdr, "")
			took := time.Since(start)
			msg := expectError(t, w, http.StatusBadRequest, domain.CodeInvalidPosition)
			if took > wait/4 {
				t.Errorf("refused after %v; want at once (the wait is %v)", took, wait)
			}
			if !strings.Contains(msg, "partition") {
				t.Errorf("message %q does not say the partition is the problem", msg)
			}
		})
	}
	t.Run("a reached position answers at once", func(t *testing.T) {
		res, took := get("1-10")
		if res.StatusCode != http.StatusOK || res.Header.Get("X-Tidings-Stale") != "" || took > wait/4 {
			t.Fatalf("status %d, stale %q, after %v; want 200 at once", res.StatusCode, res.Header.Get("X-Tidings-Stale"), took)
		}
	})
	t.Run("the last partition is waited for", func(t *testing.T) {
		res, took := get("3-0")
		if res.StatusCode != http.StatusOK || res.Header.Get("X-Tidings-Stale") != "true" || took < wait {
			t.Fatalf("status %d, stale %q, after %v; want 200 stale after the %v wait", res.StatusCode, res.Header.Get("X-Tidings-Stale"), took, wait)
		}
	})
}
