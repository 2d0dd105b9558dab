package embedded

import (
	"fmt"

	"github.com/tidings-chat/tidings/domain"
)

// Type codes of the edit and delete events (this feature's range is
// 10-19). Stored in the log: never renumber one. After the common head
// (id, from, to) each record holds:
//
//	codeEdited   sent_at, version (uvarint), text, edited_at
//	codeDeleted  sent_at, deleted_at
//	codeHidden   sent_at, by, hidden_at
//	codeSentReply  codeSentFlags' fields (text, client_msg_id, sent_at,
//	             flags), then reply_to, reply_version (uvarint): a
//	             MessageSent that replies (a plain send keeps codeSentFlags)
const (
	codeEdited    = 10
	codeDeleted   = 11
	codeHidden    = 12
	codeSentReply = 13
	codeReacted   = 14 // sent_at, by, emoji, version (uvarint), at
)

// encodeSentFields appends the fields of a reply's codeSentReply record.
func encodeSentFields(w *rowWriter, e domain.MessageSent) {
	encodeSentCore(w, e)
	w.str(string(e.ReplyTo))
	w.uint(uint64(max(e.ReplyVersion, 0)))
}

// encodeEditEvent appends the fields of an edit or delete event after the
// head that head writes; ok is false for other types.
func encodeEditEvent(w *rowWriter, ev domain.Event, head func(code byte, id domain.MessageID, from, to domain.UserID)) bool {
	switch e := ev.(type) {
	case domain.MessageEdited:
		head(codeEdited, e.ID, e.From, e.To)
		w.exactTime(e.SentAt)
		w.uint(uint64(max(e.Version, 0)))
		w.str(e.Text)
		w.exactTime(e.EditedAt)
	case domain.MessageDeleted:
		head(codeDeleted, e.ID, e.From, e.To)
		w.exactTime(e.SentAt)
		w.exactTime(e.DeletedAt)
	case domain.MessageHidden:
		head(codeHidden, e.ID, e.From, e.To)
		w.exactTime(e.SentAt)
		w.str(string(e.By))
		w.exactTime(e.HiddenAt)
	case domain.MessageReacted:
		head(codeReacted, e.ID, e.From, e.To)
		w.exactTime(e.SentAt)
		w.str(string(e.By))
		w.str(e.Emoji)
		w.uint(uint64(max(e.Version, 0)))
		w.exactTime(e.At)
	default:
		return false
	}
	return true
}

// decodeEditEvent reads the fields after the head of a record of an edit
// or delete code.
func decodeEditEvent(code byte, r *rowReader, id domain.MessageID, from, to domain.UserID) (domain.Event, error) {
	switch code {
	case codeEdited:
		sent := r.exactTime()
		v := r.uint()
		if v > 1<<31 {
			r.err = errCorruptEvent
		}
		text := r.str()
		return domain.MessageEdited{ID: id, From: from, To: to, SentAt: sent, Version: int(v), Text: text, EditedAt: r.exactTime()}, nil
	case codeDeleted:
		sent := r.exactTime()
		return domain.MessageDeleted{ID: id, From: from, To: to, SentAt: sent, DeletedAt: r.exactTime()}, nil
	case codeSentReply:
		text, cmid := r.str(), r.str()
		sent := domain.MessageSent{ID: id, From: from, To: to, Text: text, ClientMsgID: cmid, SentAt: r.exactTime()}
		if len(r.b) == 0 {
			return nil, errCorruptEvent
		}
		sent.Retry, r.b = r.b[0]&sentRetry != 0, r.b[1:]
		sent.ReplyTo = domain.MessageID(r.str())
		v := r.uint()
		if v > 1<<31 {
			r.err = errCorruptEvent
		}
		sent.ReplyVersion = int(v)
		return sent, nil
	case codeReacted:
		sent := r.exactTime()
		by, emoji := domain.UserID(r.str()), r.str()
		v := r.uint()
		if v > 1<<31 {
			r.err = errCorruptEvent
		}
		return domain.MessageReacted{ID: id, From: from, To: to, SentAt: sent, By: by, Emoji: emoji, Version: int(v), At: r.exactTime()}, nil
	case codeHidden:
		sent := r.exactTime()
		by := domain.UserID(r.str())
		return domain.MessageHidden{ID: id, From: from, To: to, SentAt: sent, By: by, HiddenAt: r.exactTime()}, nil
	}
	return nil, fmt.Errorf("event record: unknown type code %d", code)
}
