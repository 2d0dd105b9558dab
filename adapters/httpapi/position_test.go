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

// TestPositionHeaderSyntax: X-Tidings-Position is one to 16 positions as
// the server writes them, joined by commas with optional spaces or tabs
// around them (docs/openapi.yaml's pattern); anything else is
// invalid_position at once. An empty header is no header.
func TestPositionHeaderSyntax(t *testing.T) {
	h := newHarness(t, httpapi.Config{Partitions: 4}, nil)
	_, token := h.user("alice")
	h.tracker.Advance(domain.Position{Partition: 1, Offset: 10})
	h.tracker.Advance(domain.Position{Partition: 2, Offset: 10})
	for _, tc := range []struct {
		name, positions string
		ok              bool
	}{
		{"one", "1-3", true},
		{"before the first event", "1--1", true},
		{"empty", "", true},
		{"spaces and tabs around commas", "1-3 ,\t2-4", true},
		{"sixteen", strings.Repeat("1-1,", 15) + "1-1", true},
		{"seventeen", strings.Repeat("1-1,", 16) + "1-1", false},
		{"a sign", "+1-3", false},
		{"a leading zero", "1-03", false},
		{"minus zero", "1--0", false},
		{"an empty element", "1-3,,2-4", false},
		{"a trailing comma", "1-3,", false},
		{"a vertical tab", "1-3,\v2-4", false},
		{"no dash", "13", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := bearerHeader(token)
			hdr.Set(httpapi.PositionHeader, tc.positions)
			w := h.do(http.MethodGet, "/me", hdr, "")
			if tc.ok {
				if w.Code != http.StatusOK {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				return
			}
			expectError(t, w, http.StatusBadRequest, domain.CodeInvalidPosition)
		})
	}
}
