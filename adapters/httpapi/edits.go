package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/tidings-chat/tidings/commands"
	"github.com/tidings-chat/tidings/domain"
	"github.com/tidings-chat/tidings/projections"
)

type editRequest struct {
	Text *string `json:"text"`
}

// patchMessage handles PATCH and PUT /messages/{id}. A JSON object body
// with "text" edits the message (its sender, EditWindow); any other body
// (none, {"status":"read"}, or one that is not an object with "text")
// marks it read as before edits existed. A body with both "text" and
// "status" is 400 invalid_field.
func (s *Server) patchMessage(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.writeError(w, r, domain.Errorf(domain.CodeBodyTooLarge, "request body is larger than %d bytes", MaxBodyBytes))
			return
		}
		s.writeError(w, r, domain.Errorf(domain.CodeMalformedJSON, "cannot read request body"))
		return
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(body, &probe) != nil || probe["text"] == nil {
		s.markRead(w, r)
		return
	}
	if _, both := probe["status"]; both {
		s.writeError(w, r, domain.Errorf(domain.CodeInvalidField, "a body either marks read (status) or edits (text), not both"))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req editRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Text == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeInvalidField, `field "text" must be a string`))
		return
	}
	u, _ := UserFrom(r.Context())
	res, err := s.cmd.EditMessage.Handle(r.Context(), commands.EditMessage{User: u.ID, ID: domain.MessageID(chi.URLParam(r, "id")), Text: *req.Text})
	s.writeChanged(w, r, res, err)
}

// deleteMessage handles DELETE /messages/{id}?for=everyone (the sender,
// DeleteWindow: 200 with the tombstone) and ?for=me (either party: 204).
func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	id := domain.MessageID(chi.URLParam(r, "id"))
	switch r.URL.Query().Get("for") {
	case "everyone":
		res, err := s.cmd.DeleteMessage.Handle(r.Context(), commands.DeleteMessage{User: u.ID, ID: id})
		s.writeChanged(w, r, res, err)
	case "me":
		pos, err := s.cmd.HideMessage.Handle(r.Context(), commands.HideMessage{User: u.ID, ID: id})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set(PositionHeader, pos.String())
		w.WriteHeader(http.StatusNoContent)
	case "":
		s.writeError(w, r, domain.Errorf(domain.CodeMissingField, `query parameter "for" is required: "me" or "everyone"`))
	default:
		s.writeError(w, r, domain.Errorf(domain.CodeInvalidField, `query parameter "for" must be "me" or "everyone"`))
	}
}

func (s *Server) writeChanged(w http.ResponseWriter, r *http.Request, res commands.Changed, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if res.Position != nil {
		w.Header().Set(PositionHeader, res.Position.String())
	}
	writeJSON(w, http.StatusOK, toMessageJSON(res.Message))
}

type reactionRequest struct {
	Emoji *string `json:"emoji"`
}

// putReaction handles PUT /messages/{id}/reaction {"emoji": "👍"}: the
// caller's one reaction, set or changed (either party).
func (s *Server) putReaction(w http.ResponseWriter, r *http.Request) {
	var req reactionRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Emoji == nil {
		s.writeError(w, r, domain.Errorf(domain.CodeMissingField, "emoji is required"))
		return
	}
	if *req.Emoji == "" {
		s.writeError(w, r, domain.ValidateEmoji(""))
		return
	}
	s.react(w, r, *req.Emoji)
}

// deleteReaction handles DELETE /messages/{id}/reaction: the caller's
// reaction removed.
func (s *Server) deleteReaction(w http.ResponseWriter, r *http.Request) { s.react(w, r, "") }

func (s *Server) react(w http.ResponseWriter, r *http.Request, emoji string) {
	u, _ := UserFrom(r.Context())
	res, err := s.cmd.ReactMessage.Handle(r.Context(), commands.ReactMessage{User: u.ID, ID: domain.MessageID(chi.URLParam(r, "id")), Emoji: emoji})
	s.writeChanged(w, r, res, err)
}

type versionJSON struct {
	Version int    `json:"version"`
	Text    string `json:"text"`
	At      string `json:"at"`
}

// messageVersions handles GET /messages/{id}/versions: the texts the
// message had, oldest first, for its sender and recipient.
func (s *Server) messageVersions(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	id := chi.URLParam(r, "id")
	if !domain.ValidID(id) || s.versions == nil {
		s.writeError(w, r, domain.ErrNotFound)
		return
	}
	vs, err := s.versions.Versions(r.Context(), u.ID, domain.MessageID(id))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]versionJSON, len(vs))
	for i, v := range vs {
		out[i] = versionJSON{Version: v.Version, Text: v.Text, At: ts(v.At)}
	}
	writeJSON(w, http.StatusOK, out)
}

// versionsOf returns the version reader of a views store, nil if it has
// none.
func versionsOf(v projections.Reader) projections.VersionReader {
	vr, _ := v.(projections.VersionReader)
	return vr
}

// appendEditsJSON appends the fields of an edited or deleted message or a
// reply (nothing for any other, so a plain message's JSON is as before):
// "version", "edited": true and "edited_at" once edited; "deleted": true
// and "deleted_at" for a tombstone (whose text is ""); "reply_to".
func appendEditsJSON(b []byte, m domain.Message) []byte {
	if m.Version > 1 && !m.Deleted {
		b = append(b, `,"version":`...)
		b = appendInt(b, m.Version)
		b = append(b, `,"edited":true,"edited_at":`...)
		b = appendOptTime(b, m.EditedAt)
	}
	if m.Deleted {
		b = append(b, `,"deleted":true,"deleted_at":`...)
		b = appendOptTime(b, m.DeletedAt)
	}
	if m.ReplyTo != "" && !m.Deleted {
		b = appendReplyJSON(b, m)
	}
	if m.Reactions != ([2]domain.Reaction{}) {
		b = AppendReactionsJSON(b, m)
	}
	return b
}

// AppendReactionsJSON appends "reactions": the parties' reactions, the
// sender's first, each with the version of the text it answered and
// "stale": true when the message was edited since (the reaction does not
// endorse the new text).
func AppendReactionsJSON(b []byte, m domain.Message) []byte {
	b = append(b, `,"reactions":[`...)
	first := true
	for _, r := range m.Reactions {
		if r.Emoji == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"by":`...)
		b = domain.AppendJSONString(b, string(r.By))
		b = append(b, `,"emoji":`...)
		b = domain.AppendJSONString(b, r.Emoji)
		b = append(b, `,"version":`...)
		b = appendInt(b, r.Version)
		b = append(b, `,"stale":`...)
		b = strconv.AppendBool(b, r.Version < max(m.Version, 1))
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendReplyJSON appends a reply's "reply_to": the id and version it
// answered and, once resolved (projections.Quoted), the quote: "text", or
// "deleted": true (deleted for everyone since), or "unavailable": true
// (the reader deleted it for themself). A live WebSocket push carries id
// and version only.
func appendReplyJSON(b []byte, m domain.Message) []byte {
	b = append(b, `,"reply_to":{"id":`...)
	b = domain.AppendJSONString(b, string(m.ReplyTo))
	b = append(b, `,"version":`...)
	b = appendInt(b, m.ReplyVersion)
	if q := m.Quote; q != nil {
		switch {
		case q.Deleted:
			b = append(b, `,"deleted":true`...)
		case q.Unavailable:
			b = append(b, `,"unavailable":true`...)
		default:
			b = append(b, `,"text":`...)
			b = domain.AppendJSONString(b, q.Text)
		}
	}
	return append(b, '}')
}

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }
