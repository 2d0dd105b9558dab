package httpapi

import (
	"net/http"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
)

type registerRequest struct {
	Name *string `json:"name"`
}

type registerResponse struct {
	ID    domain.UserID `json:"id"`
	Name  string        `json:"name"`
	Token string        `json:"token"`
}

// register handles POST /users.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.OpenRegistration {
		s.writeError(w, r, domain.Errorf(domain.CodeRegistrationClosed, "registration is closed; ask an operator for an account"))
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
	reg, err := s.cmd.RegisterUser.Handle(r.Context(), commands.RegisterUser{Name: *req.Name})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, registerResponse{ID: reg.User.ID, Name: reg.User.Name, Token: reg.Token})
}

// me handles GET /me: who the token belongs to.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	writeJSON(w, http.StatusOK, userJSON{ID: u.ID, Name: u.Name, CreatedAt: ts(u.CreatedAt)})
}
