package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// readUpToRequest is the body of POST /conversations/{peer}/read.
type readUpToRequest struct {
	UpTo *string `json:"up_to"`
}

// readUpToJSON answers POST /conversations/{peer}/read.
type readUpToJSON struct {
	Peer   domain.UserID    `json:"peer"`
	UpTo   domain.MessageID `json:"up_to"`
	ReadAt string           `json:"read_at"`
}

// readUpTo handles POST /conversations/{peer}/read: the caller has read
// every message from peer up to and including up_to.
func (s *Server) readUpTo(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	var req readUpToRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.UpTo == nil || *req.UpTo == "" {
		s.writeError(w, r, domain.Errorf(domain.CodeMissingField, "up_to is required"))
		return
	}
	res, err := s.cmd.ReadUpTo.Handle(r.Context(), commands.ReadUpTo{User: u.ID,
		Peer: domain.UserID(chi.URLParam(r, "peer")), UpTo: domain.MessageID(*req.UpTo)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set(PositionHeader, res.Position.String())
	writeJSON(w, http.StatusOK, readUpToJSON{Peer: res.Event.From, UpTo: res.Event.ID, ReadAt: ts(res.Event.ReadAt)})
}

// unreadTotalJSON answers GET /me/unread.
type unreadTotalJSON struct {
	UnreadTotal   int `json:"unread_total"`
	Conversations int `json:"conversations"` // with at least one unread message
}

// unreadTotal handles GET /me/unread: the sum of the unread counts of
// every conversation of the caller, the same numbers GET /conversations
// shows.
func (s *Server) unreadTotal(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	var out unreadTotalJSON
	p := projections.Page{Limit: MaxLimit}
	for {
		convs, next, err := s.views.Conversations(r.Context(), u.ID, p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, c := range convs {
			out.UnreadTotal += c.Unread
			if c.Unread > 0 {
				out.Conversations++
			}
		}
		if next == nil {
			break
		}
		p.After = next
	}
	writeJSON(w, http.StatusOK, out)
}
