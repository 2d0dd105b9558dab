package embedded

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"
)

// Row encodings. Message and conversation rows are read and rewritten on
// every apply, so they are stored in a compact binary form: a version
// byte, then length-prefixed strings and varint times. Rows written as
// JSON by earlier versions (their first byte is '{') are still read.
//
// Message rows of version 2 add, after the status, a byte of receipts
// already fed (storedMessage.Fed).
//
// Message rows of version 3 (only rows of an edited, deleted or hidden
// message: a plain message's row stays version 2) add rowEdits after the
// read time (views_edits.go).
const (
	rowV1 = 1
	rowV2 = 2
	rowV3 = 3
)

var errCorruptRow = errors.New("corrupt row")

type rowWriter struct{ b []byte }

func (w *rowWriter) str(s string) {
	w.b = binary.AppendUvarint(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
}

// time writes t as Unix nanoseconds, the zero time as 0.
func (w *rowWriter) time(t time.Time) {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	w.b = binary.AppendVarint(w.b, ns)
}

func (w *rowWriter) uint(u uint64) { w.b = binary.AppendUvarint(w.b, u) }

type rowReader struct {
	b   []byte
	err error
}

func (r *rowReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errCorruptRow
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *rowReader) str() string {
	n := r.uint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errCorruptRow
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *rowReader) time() time.Time {
	if r.err != nil {
		return time.Time{}
	}
	ns, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errCorruptRow
		return time.Time{}
	}
	r.b = r.b[n:]
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func encodeMessage(m storedMessage) []byte {
	w := rowWriter{b: make([]byte, 0, 96+len(m.Text))}
	w.b = append(w.b, rowV2, m.Status, m.Fed)
	w.str(m.ID)
	w.str(m.From)
	w.str(m.To)
	w.str(m.Text)
	w.str(m.ClientMsgID)
	w.time(m.SentAt)
	w.time(m.DeliveredAt)
	w.time(m.ReadAt)
	if m.Edits != (rowEdits{}) {
		w.b[0] = rowV3
		m.Edits.encode(&w)
	}
	return w.b
}

func decodeMessage(raw []byte) (storedMessage, error) {
	var m storedMessage
	if len(raw) > 0 && raw[0] == '{' {
		m.Legacy = true
		return m, json.Unmarshal(raw, &m)
	}
	var r rowReader
	switch {
	case len(raw) >= 2 && raw[0] == rowV1:
		m.Status, m.Legacy = raw[1], true
		r.b = raw[2:]
	case len(raw) >= 3 && (raw[0] == rowV2 || raw[0] == rowV3):
		m.Status, m.Fed = raw[1], raw[2]
		r.b = raw[3:]
	default:
		return m, errCorruptRow
	}
	m.ID, m.From, m.To, m.Text, m.ClientMsgID = r.str(), r.str(), r.str(), r.str(), r.str()
	m.SentAt, m.DeliveredAt, m.ReadAt = r.time(), r.time(), r.time()
	if raw[0] == rowV3 {
		m.Edits.decode(&r)
	}
	return m, r.err
}

func encodeConversation(c storedConversation) []byte {
	w := rowWriter{b: make([]byte, 0, 48)}
	w.b = append(w.b, rowV1)
	w.str(c.LastID)
	w.time(c.LastAt)
	w.uint(uint64(max(c.Unread, 0)))
	if c.UpTo != "" { // rows without a read marker end here
		w.str(c.UpTo)
	}
	return w.b
}

func decodeConversation(raw []byte) (storedConversation, error) {
	var c storedConversation
	if len(raw) > 0 && raw[0] == '{' {
		return c, json.Unmarshal(raw, &c)
	}
	if len(raw) < 1 || raw[0] != rowV1 {
		return c, errCorruptRow
	}
	r := rowReader{b: raw[1:]}
	c.LastID, c.LastAt, c.Unread = r.str(), r.time(), int(r.uint())
	if r.err == nil && len(r.b) > 0 {
		c.UpTo = r.str()
	}
	return c, r.err
}

// Feed items are binary too (JSON before): version, kind, status, then
// id, from, to and the two times.
func encodeFeedItem(f storedFeedItem) []byte {
	w := rowWriter{b: make([]byte, 0, 112)}
	w.b = append(w.b, rowV1, f.Kind, f.Status)
	w.str(f.ID)
	w.str(f.From)
	w.str(f.To)
	w.time(f.SentAt)
	w.time(f.At)
	return w.b
}

func decodeFeedItem(raw []byte) (storedFeedItem, error) {
	var f storedFeedItem
	if len(raw) > 0 && raw[0] == '{' {
		return f, json.Unmarshal(raw, &f)
	}
	if len(raw) < 3 || raw[0] != rowV1 {
		return f, errCorruptRow
	}
	f.Kind, f.Status = raw[1], raw[2]
	r := rowReader{b: raw[3:]}
	f.ID, f.From, f.To = r.str(), r.str(), r.str()
	f.SentAt, f.At = r.time(), r.time()
	return f, r.err
}
