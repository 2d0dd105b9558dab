package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

// The fuzz targets of the decoders of outside input that live in domain.
// CI runs each for a bounded time (.ci/fuzz.sh); `go test` runs their seed
// corpus like any test.

// decodeCodes are the codes DecodeStrict may answer.
var decodeCodes = []Code{CodeMalformedJSON, CodeUnknownField, CodeInvalidField, CodeInvalidUTF8}

// clientCode fails t unless err is an *Error with one of codes.
func clientCode(t *testing.T, err error, codes ...Code) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a client error", err)
	}
	if !slices.Contains(codes, e.Code) {
		t.Fatalf("error code %q, want one of %q", e.Code, codes)
	}
}

// FuzzDecodeStrict: whatever a client sends, DecodeStrict answers a client
// error with a stable code or a value, and a value only for valid UTF-8
// holding exactly one JSON object (white space around it) of known fields.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		`{"to":"01M8B1QCVMF1DRTYN159HXJJ7T","text":"hi","client_msg_id":"c1"}`,
		`{"to":"x","text":"hi"}}`, `{"to":"x","text":"hi"}]`, `{"to":1}`, `{"text":null}`,
		`{"priority":1}`, `[]`, `"a"`, ``, ` `, `{`, "{\"text\":\"\xff\"}", `{"to":"a"} {"to":"b"}`,
		`{"text":"\ud800"}`, `{"client_msg_id":true}`, "\ufeff{}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v struct {
			To          *string `json:"to"`
			Text        *string `json:"text"`
			ClientMsgID *string `json:"client_msg_id"`
		}
		err := DecodeStrict(b, &v, "request body")
		if err != nil {
			clientCode(t, err, decodeCodes...)
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted %q, which is not one JSON value", b)
		}
		// null decodes into a struct as nothing, as encoding/json does.
		if v := bytes.TrimSpace(b); v[0] != '{' && string(v) != "null" {
			t.Fatalf("accepted %q, which is not a JSON object", b)
		}
	})
}

// FuzzCursor: OpenCursor gives back exactly what SealCursor sealed for the
// same listing and refuses it for any other; on bytes of any kind it
// answers a position or invalid_cursor, never a panic.
func FuzzCursor(f *testing.F) {
	f.Add(byte('u'), "01M8B1QCVA63ES9FVWWAQTKA3Q", "", []byte("pos"), []byte{1, 'u', 0, 0, 0, 0, 0, 0, 0, 0, 'x'})
	f.Add(byte('h'), "01M8B1QCVA63ES9FVWWAQTKA3Q", "01M8B1QCVMF1DRTYN159HXJJ7T", []byte{0}, []byte{})
	f.Add(byte('c'), "", "", []byte{0xff, 0xff}, []byte{1})
	f.Fuzz(func(t *testing.T, kind byte, user, peer string, pos, raw []byte) {
		if len(pos) == 0 {
			pos = []byte{0}
		}
		k := CursorKind(kind)
		sealed := SealCursor(k, UserID(user), UserID(peer), pos)
		got, err := OpenCursor(k, UserID(user), UserID(peer), sealed)
		if err != nil || !bytes.Equal(got, pos) {
			t.Fatalf("OpenCursor(SealCursor(%q)) = %q, %v", pos, got, err)
		}
		if _, err := OpenCursor(k+1, UserID(user), UserID(peer), sealed); err == nil {
			t.Fatal("a cursor opened for another listing kind")
		} else {
			clientCode(t, err, CodeInvalidCursor)
		}
		if p, err := OpenCursor(k, UserID(user), UserID(peer), raw); err != nil {
			clientCode(t, err, CodeInvalidCursor)
		} else if len(p) == 0 || !bytes.HasSuffix(raw, p) {
			t.Fatalf("OpenCursor(%q) = %q, not a non-empty tail of it", raw, p)
		}
	})
}

// FuzzParsePosition: a position parses or is refused, never a panic; a
// parsed one is in range and is exactly its String (one spelling).
func FuzzParsePosition(f *testing.F) {
	for _, s := range []string{"0-0", "3--1", "15-9223372036854775807", "-1-0", "1-", "-", "", "+1-+2",
		"2147483648-0", "1-9223372036854775808", "01-01", " 1-2", "1-2-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePosition(s)
		if err != nil {
			return
		}
		if p.Partition < 0 || p.Offset < -1 {
			t.Fatalf("ParsePosition(%q) = %+v, out of range", s, p)
		}
		if p.String() != s {
			t.Fatalf("ParsePosition(%q) = %+v, whose String is %q", s, p, p.String())
		}
	})
}

// FuzzUnmarshalEvent: any record decodes to an event or an error, never a
// panic; ValidateEvent judges every decoded event; and a valid one
// re-encodes to an envelope that decodes to the same event.
func FuzzUnmarshalEvent(f *testing.F) {
	at := time.Date(2026, 11, 26, 4, 27, 24, 245e6, time.UTC)
	for _, ev := range []Event{
		MessageSent{ID: "01M8B1QD6N1FB7JWSADHT788G0", From: "01M8B1QCVA63ES9FVWWAQTKA3Q", To: "01M8B1QCVMF1DRTYN159HXJJ7T", Text: "hi", ClientMsgID: "c1", SentAt: at},
		MessageDelivered{ID: "01M8B1QD6N1FB7JWSADHT788G0", From: "01M8B1QCVA63ES9FVWWAQTKA3Q", To: "01M8B1QCVMF1DRTYN159HXJJ7T", SentAt: at, DeliveredAt: at},
		MessageRead{ID: "01M8B1QD6N1FB7JWSADHT788G0", From: "01M8B1QCVA63ES9FVWWAQTKA3Q", To: "01M8B1QCVMF1DRTYN159HXJJ7T", SentAt: at, ReadAt: at},
		MessageReceipt{ID: "01M8B1QD6N1FB7JWSADHT788G0", From: "01M8B1QCVA63ES9FVWWAQTKA3Q", To: "01M8B1QCVMF1DRTYN159HXJJ7T", SentAt: at, Status: StatusRead, At: at},
	} {
		b, err := MarshalEvent(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{`{"type":"MessageSent","v":2,"data":{}}`, `{"type":"MessageReceipt","v":1,"data":{"status":"sent"}}`,
		`{"type":"Nope","v":1}`, `{"type":"MessageSent","v":1,"data":{"sent_at":"x"}}`, `null`, `[]`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := UnmarshalEvent(b)
		if err != nil {
			return
		}
		if ValidateEvent(ev) != nil {
			return
		}
		again, err := MarshalEvent(ev)
		if err != nil {
			t.Fatalf("a valid event %+v does not encode: %v", ev, err)
		}
		back, err := UnmarshalEvent(again)
		if err != nil {
			t.Fatalf("%s does not decode: %v", again, err)
		}
		if b2, _ := MarshalEvent(back); !bytes.Equal(b2, again) {
			t.Fatalf("round trip changed the event:\n%s\n%s", again, b2)
		}
		if err := ValidateEvent(back); err != nil {
			t.Fatalf("a valid event is invalid after a round trip: %v", err)
		}
	})
}
