package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

type registerRequest struct {
	Name     *string `json:"name"`
	Password *string `json:"password"` // optional: lets the user sign in again
}

// register handles POST /users.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.OpenRegistration {
		s.writeError(w, r, domain.Errorf(domain.CodeRegistrationClosed, "registration is closed; ask an operator for an account"))
		return
	}
	if !s.limit(w, r, s.limits.SignUp) {
		return
	}
	var req registerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Name == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeMissingField, "name is required"))
		return
	}
	reg, err := s.cmd.RegisterUser.Handle(r.Context(), commands.RegisterUser{Name: *req.Name, Password: req.Password})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeSession(w, reg.User, reg.Token, reg.ExpiresAt)
}

// me handles GET /me: who the token belongs to.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	writeJSON(w, http.StatusOK, userJSON{ID: u.ID, Name: u.Name, CreatedAt: ts(u.CreatedAt)})
}

// deleteMeRequest is the body of DELETE /me.
type deleteMeRequest struct {
	Password *string `json:"password"`
}

// deleteMe handles DELETE /me: delete the caller's account for good, and
// with it the keys that sealed its messages, so their text is erased
// everywhere (commands.DeleteAccountHandler). The body carries the
// password when the account has one. It is throttled like sign-in (a
// password is checked). The node closes the user's WebSockets.
func (s *Server) deleteMe(w http.ResponseWriter, r *http.Request) {
	if !s.limit(w, r, s.limits.SignIn) {
		return
	}
	u, _ := UserFrom(r.Context())
	var req deleteMeRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	cmd := commands.DeleteAccount{User: u.ID}
	if req.Password != nil {
		cmd.Password = *req.Password
	}
	if err := s.cmd.DeleteAccount.Handle(r.Context(), cmd); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.accountDeleted != nil {
		s.accountDeleted(u.ID)
	}
	w.WriteHeader(http.StatusNoContent)
}

// userByName handles GET /users?name=NAME: find someone to write to.
func (s *Server) userByName(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		s.writeError(w, r, domain.Errorf(domain.CodeMissingField, "name is required"))
		return
	}
	if s.users == nil || domain.ValidateName(name) != nil {
		s.writeError(w, r, domain.ErrNotFound)
		return
	}
	s.writeUser(w, r, func() (domain.User, error) { return s.users.UserByName(r.Context(), name) })
}

// userByID handles GET /users/{id}: a user's public profile (id, name).
func (s *Server) userByID(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if s.users == nil || !domain.ValidID(id) {
		s.writeError(w, r, domain.ErrNotFound)
		return
	}
	s.writeUser(w, r, func() (domain.User, error) { return s.users.User(r.Context(), domain.UserID(id)) })
}

func (s *Server) writeUser(w http.ResponseWriter, r *http.Request, find func() (domain.User, error)) {
	u, err := find()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userJSON{ID: u.ID, Name: u.Name, CreatedAt: ts(u.CreatedAt)})
}
