package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/tidings-chat/tidings/domain"
)

// presenceJSON is a user's presence as the viewer may see it; the
// WebSocket's watch ack and presence frame have the same fields.
type presenceJSON struct {
	User     domain.UserID `json:"user"`
	Online   bool          `json:"online"`
	LastSeen *string       `json:"last_seen"` // null: online, never seen, or hidden
}

type settingsJSON struct {
	HideLastSeen bool `json:"hide_last_seen"`
}

// settingsPatch is the body of PATCH /me/settings: a field absent is
// kept; null is refused, as every JSON type but the field's own.
type settingsPatch struct {
	HideLastSeen json.RawMessage `json:"hide_last_seen"`
}

// optionalBool decodes a field of a patch: absent (nil), or a boolean.
func optionalBool(name string, raw json.RawMessage) (*bool, error) {
	if raw == nil {
		return nil, nil
	}
	var v bool
	if string(raw) == "null" || json.Unmarshal(raw, &v) != nil {
		return nil, domain.Errorf(domain.CodeInvalidField, "field %q must be a boolean", name)
	}
	return &v, nil
}

// presence handles GET /users/{id}/presence: 404 unless the caller may see
// the user's presence (themselves, or a user they have a conversation
// with: commands.PresenceQuery), as for an unknown user.
func (s *Server) presence(w http.ResponseWriter, r *http.Request) {
	if s.pres == nil {
		s.writeError(w, r, domain.ErrNotFound)
		return
	}
	u, _ := UserFrom(r.Context())
	st, err := s.pres.Of(r.Context(), u.ID, domain.UserID(chi.URLParam(r, "id")))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := presenceJSON{User: st.User, Online: st.Online}
	if !st.Online && !st.LastSeen.IsZero() {
		at := ts(st.LastSeen)
		p.LastSeen = &at
	}
	writeJSON(w, http.StatusOK, p)
}

// settings handles GET /me/settings.
func (s *Server) settings(w http.ResponseWriter, r *http.Request) {
	if s.pres == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeNotFound, "no such endpoint"))
		return
	}
	u, _ := UserFrom(r.Context())
	st, err := s.pres.Settings.Settings(r.Context(), u.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, settingsJSON{HideLastSeen: st.HideLastSeen})
}

// patchSettings handles PATCH /me/settings: the fields given are set, the
// others kept; it answers the settings now in force. Connections on every
// node learn of the change (SettingsChanged).
func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request) {
	if s.pres == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeNotFound, "no such endpoint"))
		return
	}
	var req *settingsPatch
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeInvalidField, "request body must be a JSON object"))
		return
	}
	hide, err := optionalBool("hide_last_seen", req.HideLastSeen)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, _ := UserFrom(r.Context())
	store := s.pres.Settings
	st, err := store.Settings(r.Context(), u.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if hide != nil && *hide != st.HideLastSeen {
		st.HideLastSeen = *hide
		if err := store.SetSettings(r.Context(), u.ID, st); err != nil {
			s.writeError(w, r, err)
			return
		}
		if s.settingsChanged != nil {
			s.settingsChanged(r.Context(), u.ID, st)
		}
	}
	writeJSON(w, http.StatusOK, settingsJSON{HideLastSeen: st.HideLastSeen})
}
