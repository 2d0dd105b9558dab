package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
)

// TestLimitMustBeAWholeNumber: a limit that is present is a whole number
// from 1 to 500, on every listing; `?limit=` (empty) is invalid_limit like
// any other value that is not one (schemathesis found it taken as the
// default). An empty cursor is the first page.
func TestLimitMustBeAWholeNumber(t *testing.T) {
	h := newHarness(t, httpapi.Config{}, nil)
	_, token := h.user("alice")
	peer, _ := h.user("bob")
	paths := []string{"/messages", "/conversations", "/conversations/" + string(peer) + "/messages"}
	bad := []string{"limit=", "limit=0", "limit=501", "limit=x", "limit=1.5", "limit=-1", "limit=&limit=5"}
	good := []string{"", "limit=1", "limit=500", "cursor=", "limit=7&cursor="}
	for _, p := range paths {
		for _, q := range bad {
			t.Run(p+"?"+q, func(t *testing.T) {
				expectError(t, h.do(http.MethodGet, p+"?"+q, bearerHeader(token), ""), http.StatusBadRequest, domain.CodeInvalidLimit)
			})
		}
		for _, q := range good {
			t.Run(p+"?"+q, func(t *testing.T) {
				if w := h.do(http.MethodGet, p+"?"+q, bearerHeader(token), ""); w.Code != http.StatusOK && w.Code != http.StatusNoContent {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
			})
		}
	}
}
