package httpapi

import (
	"net/http"
	"time"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

type signInRequest struct {
	Name     *string `json:"name"`
	Password *string `json:"password"`
}

// sessionResponse is a new token: of POST /users and POST /sessions.
type sessionResponse struct {
	ID        domain.UserID `json:"id"`
	Name      string        `json:"name"`
	Token     string        `json:"token"`
	ExpiresAt string        `json:"expires_at"`
}

func writeSession(w http.ResponseWriter, u domain.User, token string, expires time.Time) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, sessionResponse{ID: u.ID, Name: u.Name, Token: token, ExpiresAt: ts(expires)})
}

// limit takes one token of l for the request's client address; false when
// it answered the request (429 rate_limited, or the limiter's failure).
func (s *Server) limit(w http.ResponseWriter, r *http.Request, l commands.Limiter) bool {
	if l == nil {
		return true
	}
	if err := l.Allow(r.Context(), clientKey(s.clientAddr(r))); err != nil {
		s.writeError(w, r, err)
		return false
	}
	return true
}

// createSession handles POST /sessions: with a body {"name", "password"},
// sign in; with no body and a bearer token, exchange the token for a new
// one (the old one stops working).
func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	if !s.limit(w, r, s.limits.SignIn) {
		return
	}
	if r.ContentLength == 0 && bearer(r) != "" {
		u, sess, err := s.cmd.Authenticate.Session(r.Context(), bearer(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out, err := s.cmd.RotateSession.Handle(r.Context(), commands.RotateSession{User: u, Token: bearer(r)})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if s.signedOut != nil {
			s.signedOut(sess.Token)
		}
		writeSession(w, out.User, out.Token, out.ExpiresAt)
		return
	}
	if r.ContentLength == 0 {
		s.writeError(w, r, domain.Errorf(domain.CodeMissingField, "name and password are required (or, to renew a token, no body and Authorization: Bearer)"))
		return
	}
	var req signInRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Name == nil || req.Password == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeMissingField, "name and password are required"))
		return
	}
	out, err := s.cmd.SignIn.Handle(r.Context(), commands.SignIn{Name: *req.Name, Password: *req.Password})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeSession(w, out.User, out.Token, out.ExpiresAt)
}

// deleteSession handles DELETE /sessions/current: sign out. The token of
// the request stops working at once on every node; this node also closes
// the WebSockets it authenticated.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	sess, _ := SessionFrom(r.Context())
	if err := s.cmd.SignOut.Handle(r.Context(), commands.SignOut{Token: bearer(r)}); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.signedOut != nil {
		s.signedOut(sess.Token)
	}
	w.WriteHeader(http.StatusNoContent)
}
