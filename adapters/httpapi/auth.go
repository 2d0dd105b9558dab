package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

type userKey struct{}

type sessionKey struct{}

// SessionFrom returns the session (token hash, expiry) a request was
// authenticated with.
func SessionFrom(ctx context.Context) (commands.Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(commands.Session)
	return s, ok
}

// UserFrom returns the authenticated user of a request.
func UserFrom(ctx context.Context) (domain.User, bool) {
	u, ok := ctx.Value(userKey{}).(domain.User)
	return u, ok
}

// WithUser returns ctx carrying u as the authenticated user.
func WithUser(ctx context.Context, u domain.User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// bearer returns the token of an "Authorization: Bearer <token>" header,
// the only credential REST requests (and /metrics) take.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// handshakeBearer returns the token of a WebSocket handshake: that of
// "Authorization: Bearer" or, failing that, of a "bearer.<token>" entry of
// the Sec-WebSocket-Protocol header (browsers cannot set headers on a
// WebSocket handshake but can offer subprotocols; docs/websocket.md). The
// subprotocol counts only on a GET that asks to upgrade to WebSocket.
func handshakeBearer(r *http.Request) string {
	if t := bearer(r); t != "" {
		return t
	}
	if r.Method != http.MethodGet || !hasToken(r.Header, "Connection", "upgrade") || !hasToken(r.Header, "Upgrade", "websocket") {
		return ""
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

// hasToken reports whether a comma-separated header holds token (any case).
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), token) {
				return true
			}
		}
	}
	return false
}

// authenticate lets through requests whose token (as tokenOf finds it)
// names a user, with the user in their context; others get 401.
func (s *Server) authenticate(tokenOf func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, sess, err := s.cmd.Authenticate.Session(r.Context(), tokenOf(r))
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			ctx := context.WithValue(WithUser(r.Context(), u), sessionKey{}, sess)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// PositionHeader carries read-your-writes tokens: responses to commands set
// it to their event's position; requests that send positions back (one or
// several, comma-separated) wait until the views include them.
const PositionHeader = "X-Tidings-Position"

// awaitPosition waits, up to ConsistencyWait, for the positions a request
// names. When the wait runs out the request goes on and the response says
// so with "X-Tidings-Stale: true". Positions are all checked before any
// wait: a malformed one, or one of a partition the log does not have
// (Config.Partitions), is 400 invalid_position at once.
func (s *Server) awaitPosition(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get(PositionHeader)
		if h == "" || s.tracker == nil {
			next.ServeHTTP(w, r)
			return
		}
		parts := strings.Split(h, ",")
		if len(parts) > maxPositions {
			s.writeError(w, r, domain.Errorf(domain.CodeInvalidPosition, "at most %d positions", maxPositions))
			return
		}
		positions := make([]domain.Position, len(parts))
		for i, p := range parts {
			pos, err := domain.ParsePosition(strings.Trim(p, " \t")) // HTTP's optional white space
			if err != nil {
				s.writeError(w, r, domain.Errorf(domain.CodeInvalidPosition, "%s header: %v", PositionHeader, err))
				return
			}
			if n := s.cfg.Partitions; n > 0 && pos.Partition >= n {
				s.writeError(w, r, domain.Errorf(domain.CodeInvalidPosition,
					"%s header: position %s names partition %d; the log has partitions 0 to %d", PositionHeader, pos, pos.Partition, n-1))
				return
			}
			positions[i] = pos
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ConsistencyWait)
		defer cancel()
		for _, pos := range positions {
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

// maxPositions bounds the positions one request may wait for.
const maxPositions = 16
