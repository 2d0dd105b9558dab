package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/tidings-chat/tidings/domain"
)

type userKey struct{}

// UserFrom returns the authenticated user of a request.
func UserFrom(ctx context.Context) (domain.User, bool) {
	u, ok := ctx.Value(userKey{}).(domain.User)
	return u, ok
}

// WithUser returns ctx carrying u as the authenticated user.
func WithUser(ctx context.Context, u domain.User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// bearer returns the token of an "Authorization: Bearer <token>" header or,
// failing that, of a "bearer.<token>" entry of the Sec-WebSocket-Protocol
// header: browsers cannot set headers on a WebSocket handshake but can offer
// subprotocols (docs/websocket.md).
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if t, ok := strings.CutPrefix(strings.TrimSpace(p), "bearer."); ok {
				return t
			}
		}
	}
	return ""
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.cmd.Authenticate.Handle(r.Context(), bearer(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), u)))
	})
}

// PositionHeader carries read-your-writes tokens: responses to commands set
// it to their event's position; requests that send positions back (one or
// several, comma-separated) wait until the views include them.
const PositionHeader = "X-Tidings-Position"

// awaitPosition waits, up to ConsistencyWait, for the positions a request
// names. When the wait runs out the request goes on and the response says
// so with "X-Tidings-Stale: true".
func (s *Server) awaitPosition(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get(PositionHeader)
		if h == "" || s.tracker == nil {
			next.ServeHTTP(w, r)
			return
		}
		parts := strings.Split(h, ",")
		if len(parts) > 16 {
			s.writeError(w, r, domain.Errorf(domain.CodeInvalidPosition, "at most 16 positions"))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ConsistencyWait)
		defer cancel()
		for _, p := range parts {
			pos, err := domain.ParsePosition(strings.TrimSpace(p))
			if err != nil {
				s.writeError(w, r, domain.Errorf(domain.CodeInvalidPosition, "%s header: %v", PositionHeader, err))
				return
			}
			if err := s.tracker.Wait(ctx, pos, s.cfg.ConsistencyWait); err != nil {
				if r.Context().Err() != nil {
					return
				}
				w.Header().Set("X-Tidings-Stale", "true")
				break
			}
		}
		next.ServeHTTP(w, r)
	})
}
