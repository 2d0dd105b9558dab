package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

// Page sizes of the list endpoints.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

type sendRequest struct {
	To          *string `json:"to"`
	Text        *string `json:"text"`
	ClientMsgID *string `json:"client_msg_id"`
	ReplyTo     *string `json:"reply_to"` // the message replied to (issue 12)
}

// sendMessage handles POST /messages.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	var req sendRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.To == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeMissingField, "to is required"))
		return
	}
	if req.Text == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeMissingField, "text is required"))
		return
	}
	cmd := commands.SendMessage{From: u.ID, To: domain.UserID(*req.To), Text: *req.Text}
	if req.ClientMsgID != nil {
		cmd.ClientMsgID = *req.ClientMsgID
	}
	if req.ReplyTo != nil {
		if *req.ReplyTo == "" {
			s.writeError(w, r, domain.Errorf(domain.CodeInvalidReplyTo, "reply_to names no message of this conversation that you can see"))
			return
		}
		cmd.ReplyTo = domain.MessageID(*req.ReplyTo)
	}
	sent, err := s.cmd.SendMessage.Handle(r.Context(), cmd)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set(PositionHeader, sent.Position.String())
	writeJSON(w, http.StatusOK, toMessageJSON(sent.Message))
}

// unread handles GET /messages: the caller's unread messages, oldest first.
func (s *Server) unread(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	page, err := pageOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	msgs, next, err := s.views.Unread(r.Context(), u.ID, page)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if pos, ok := s.markDelivered(r.Context(), u.ID, msgs); ok {
		w.Header().Set(PositionHeader, pos.String())
	}
	writeList(w, r, page, next, len(msgs) == 0, toMessagesJSON(msgs))
}

// markDelivered records that the messages, just handed to their recipient,
// are delivered, and shows them so. It returns the position of the last
// event it appended (they share the user's partition), for the response's
// X-Tidings-Position. A failure only leaves a message "sent" (the next
// fetch tries again); it does not fail the read.
func (s *Server) markDelivered(ctx context.Context, user domain.UserID, msgs []domain.Message) (last domain.Position, any bool) {
	var (
		ids []domain.MessageID
		at  []int // index in msgs of each id
	)
	for i, m := range msgs {
		if m.Status == domain.StatusSent {
			ids, at = append(ids, m.ID), append(at, i)
		}
	}
	if len(ids) == 0 {
		return last, false
	}
	res, errs := s.cmd.MarkDelivered.HandleAll(ctx, user, ids)
	for k, r := range res {
		if errs[k] != nil {
			s.log.Warn("mark delivered", "id", ids[k], "err", errs[k])
			continue
		}
		msgs[at[k]] = r.Message
		if r.Position != nil && (!any || r.Position.Offset > last.Offset) {
			last, any = *r.Position, true
		}
	}
	return last, any
}

// getMessage handles GET /messages/{id}.
func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	id := chi.URLParam(r, "id")
	if !domain.ValidID(id) {
		s.writeError(w, r, domain.ErrNotFound)
		return
	}
	m, err := s.views.Message(r.Context(), u.ID, domain.MessageID(id))
	if err == nil && m.Hidden { // deleted for the caller only
		err = domain.ErrNotFound
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toMessageJSON(m))
}

// markRead marks the message read for PATCH and PUT /messages/{id} with a
// body that is not an edit (patchMessage).
func (s *Server) markRead(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	res, err := s.cmd.MarkRead.Handle(r.Context(), commands.MarkRead{User: u.ID, ID: domain.MessageID(chi.URLParam(r, "id"))})
	s.writeChanged(w, r, res, err)
}

// conversations handles GET /conversations.
func (s *Server) conversations(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	page, err := pageOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	convs, next, err := s.views.Conversations(r.Context(), u.ID, page)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(w, r, page, next, false, toConversationsJSON(convs))
}

// history handles GET /conversations/{peer}/messages, newest first.
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	page, err := pageOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	peer := chi.URLParam(r, "peer")
	var msgs []domain.Message
	var next []byte
	if domain.ValidID(peer) {
		msgs, next, err = s.views.History(r.Context(), u.ID, domain.UserID(peer), page)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writeList(w, r, page, next, false, toMessagesJSON(msgs))
}

// pageOf reads ?limit= and ?cursor=. A limit that is present, also
// empty, must be a whole number from 1 to MaxLimit; an empty cursor is the
// first page.
func pageOf(r *http.Request) (projections.Page, error) {
	q := r.URL.Query()
	p := projections.Page{Limit: DefaultLimit}
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > MaxLimit {
			return p, domain.Errorf(domain.CodeInvalidLimit, "limit must be a whole number from 1 to %d", MaxLimit)
		}
		p.Limit = n
	}
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || len(b) == 0 || len(b) > 512 {
			return p, domain.Errorf(domain.CodeInvalidCursor, "cursor is not one this server gave out")
		}
		p.After = b
	}
	return p, nil
}

// writeList answers a page of a list. A next cursor becomes a Link header;
// noContent answers 204 instead of an empty array (GET /messages).
func writeList(w http.ResponseWriter, r *http.Request, p projections.Page, next []byte, noContent bool, items any) {
	if next != nil {
		q := url.Values{}
		q.Set("limit", strconv.Itoa(p.Limit))
		q.Set("cursor", base64.RawURLEncoding.EncodeToString(next))
		w.Header().Set("Link", "<"+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
	}
	if noContent {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, items)
}
