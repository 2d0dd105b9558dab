package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tidings-chat/tidings/domain"
)

// The embedded log stores events in a binary form of its own: the JSON
// envelope of domain.MarshalEvent (what Kafka carries, documented in
// docs/events.md) cost more CPU to write and read than anything else of an
// append, and decoding it dominated a replay. A record is
//
//	0x01, type code, event version, then the fields as length-prefixed
//	strings and times (seconds varint, nanoseconds uvarint)
//
// Records written as JSON by earlier versions (first byte '{') are still
// read. Both forms decode to the same domain.Event.
const eventBinary = 0x01

// Type codes of the binary form. Stored in the log: never renumber one.
const (
	codeSent      = 1 // no flags byte (written before MessageSent.Retry was kept)
	codeDelivered = 2
	codeRead      = 3
	codeReceipt   = 4
	codeSentFlags = 5 // codeSent's fields, then a flags byte (sentRetry)
	// 20-29: read markers and device sync.
	codeConversationRead = 20
	codeEcho             = 21
	codeEchoReply        = 22 // codeEcho's fields, then reply_to and its version (uvarint)
)

// encodeSentCore appends the fields of a codeSentFlags record, which a
// reply's codeSentReply record starts with (encodeSentFields).
func encodeSentCore(w *rowWriter, e domain.MessageSent) {
	w.str(e.Text)
	w.str(e.ClientMsgID)
	w.exactTime(e.SentAt)
	var flags byte
	if e.Retry {
		flags |= sentRetry
	}
	w.b = append(w.b, flags)
}

// Flags of a codeSentFlags record.
const sentRetry = 1 << 0

var errCorruptEvent = errors.New("corrupt event record")

// zeroSec is time.Time{}.Unix(): the zero time is stored as it is.
var zeroSec = time.Time{}.Unix()

func (w *rowWriter) exactTime(t time.Time) {
	w.b = binary.AppendVarint(w.b, t.Unix())
	w.b = binary.AppendUvarint(w.b, uint64(t.Nanosecond()))
}

func (r *rowReader) exactTime() time.Time {
	if r.err != nil {
		return time.Time{}
	}
	sec, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errCorruptRow
		return time.Time{}
	}
	r.b = r.b[n:]
	nsec := r.uint()
	if r.err != nil || nsec >= 1e9 {
		r.err = errCorruptRow
		return time.Time{}
	}
	if sec == zeroSec && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// encodeEvent returns ev's binary record.
func encodeEvent(ev domain.Event) ([]byte, error) {
	w := rowWriter{b: make([]byte, 0, 128)}
	head := func(code byte, id domain.MessageID, from, to domain.UserID) {
		w.b = append(w.b, eventBinary, code, domain.EventVersion)
		w.str(string(id))
		w.str(string(from))
		w.str(string(to))
	}
	switch e := ev.(type) {
	case domain.MessageSent:
		if e.ReplyTo != "" { // a reply has a record of its own (eventcodec_edits.go)
			head(codeSentReply, e.ID, e.From, e.To)
			encodeSentFields(&w, e)
			break
		}
		head(codeSentFlags, e.ID, e.From, e.To)
		encodeSentCore(&w, e)
	case domain.MessageDelivered:
		head(codeDelivered, e.ID, e.From, e.To)
		w.exactTime(e.SentAt)
		w.exactTime(e.DeliveredAt)
	case domain.MessageRead:
		head(codeRead, e.ID, e.From, e.To)
		w.exactTime(e.SentAt)
		w.exactTime(e.ReadAt)
	case domain.MessageReceipt:
		head(codeReceipt, e.ID, e.From, e.To)
		w.exactTime(e.SentAt)
		w.b = append(w.b, byte(e.Status))
		w.exactTime(e.At)
	case domain.MessageEcho:
		code := byte(codeEcho)
		if e.ReplyTo != "" {
			code = codeEchoReply
		}
		head(code, e.ID, e.From, e.To)
		w.str(e.Text)
		w.str(e.ClientMsgID)
		w.exactTime(e.SentAt)
		if e.ReplyTo != "" {
			w.str(string(e.ReplyTo))
			w.uint(uint64(max(e.ReplyVersion, 0)))
		}
	case domain.ConversationRead:
		head(codeConversationRead, e.ID, e.From, e.To)
		w.exactTime(e.ReadAt)
	default:
		if !encodeEditEvent(&w, ev, head) {
			return nil, fmt.Errorf("encode event: unknown type %T", ev)
		}
	}
	return w.b, nil
}

// decodeEvent reads a record of either form.
func decodeEvent(b []byte) (domain.Event, error) {
	if len(b) > 0 && b[0] == '{' {
		return domain.UnmarshalEvent(b)
	}
	if len(b) < 3 || b[0] != eventBinary {
		return nil, errCorruptEvent
	}
	if b[2] < 1 || b[2] > domain.EventVersion {
		return nil, fmt.Errorf("event record: unsupported version %d", b[2])
	}
	r := rowReader{b: b[3:]}
	id, from, to := domain.MessageID(r.str()), domain.UserID(r.str()), domain.UserID(r.str())
	var ev domain.Event
	switch b[1] {
	case codeSent, codeSentFlags:
		text, cmid := r.str(), r.str()
		sent := domain.MessageSent{ID: id, From: from, To: to, Text: text, ClientMsgID: cmid, SentAt: r.exactTime()}
		if b[1] == codeSentFlags {
			if len(r.b) == 0 {
				r.err = errCorruptEvent
			} else {
				sent.Retry, r.b = r.b[0]&sentRetry != 0, r.b[1:]
			}
		}
		ev = sent
	case codeDelivered:
		sent := r.exactTime()
		ev = domain.MessageDelivered{ID: id, From: from, To: to, SentAt: sent, DeliveredAt: r.exactTime()}
	case codeRead:
		sent := r.exactTime()
		ev = domain.MessageRead{ID: id, From: from, To: to, SentAt: sent, ReadAt: r.exactTime()}
	case codeReceipt:
		sent := r.exactTime()
		var st domain.Status
		if len(r.b) > 0 {
			st, r.b = domain.Status(r.b[0]), r.b[1:]
		} else {
			r.err = errCorruptEvent
		}
		if st != domain.StatusDelivered && st != domain.StatusRead {
			r.err = errCorruptEvent
		}
		ev = domain.MessageReceipt{ID: id, From: from, To: to, SentAt: sent, Status: st, At: r.exactTime()}
	case codeEcho, codeEchoReply:
		text, cmid := r.str(), r.str()
		echo := domain.MessageEcho{ID: id, From: from, To: to, Text: text, ClientMsgID: cmid, SentAt: r.exactTime()}
		if b[1] == codeEchoReply {
			echo.ReplyTo = domain.MessageID(r.str())
			v := r.uint()
			if v > 1<<31 {
				r.err = errCorruptEvent
			}
			echo.ReplyVersion = int(v)
		}
		ev = echo
	case codeConversationRead:
		ev = domain.ConversationRead{ID: id, From: from, To: to, ReadAt: r.exactTime()}
	default:
		var err error
		if ev, err = decodeEditEvent(b[1], &r, id, from, to); err != nil {
			return nil, err
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errCorruptEvent
	}
	return ev, nil
}
