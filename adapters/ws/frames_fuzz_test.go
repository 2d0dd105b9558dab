package ws

import (
	"errors"
	"slices"
	"testing"

	"github.com/tidings-chat/tidings/domain"
)

// FuzzDecodeFrame: whatever a client sends as a text frame, decodeFrame
// answers a frame it can act on or a client error with a stable code,
// never a panic; a ref is kept only when it is within MaxRefLen (so an
// error ack can name its frame); an accepted frame is of a known type and
// an ack or read names a message. CI runs it for a bounded time
// (.ci/fuzz.sh).
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"send","ref":"r1","to":"01M8B1QCVMF1DRTYN159HXJJ7T","text":"hi","client_msg_id":"c1"}`,
		`{"type":"ack","id":"01M8B1QD6N1FB7JWSADHT788G0"}`, `{"type":"read","ref":"x","id":"01M8B1QD6N1FB7JWSADHT788G0"}`,
		`{"type":"ack"}`, `{"type":"nope","ref":"r"}`, `{"ref":"r"}`, `{"type":"send"}}`, `{"type":"send"}]`,
		`{"type":1}`, `{"type":"send","extra":1}`, `[]`, `null`, ``, "{\"type\":\"send\",\"text\":\"\xff\"}",
		`{"ref":"` + string(make([]byte, 70)) + `"}`, `{"type":"send","ref":{"a":1}}`,
	} {
		f.Add([]byte(s))
	}
	codes := []domain.Code{domain.CodeMalformedJSON, domain.CodeUnknownField, domain.CodeInvalidField,
		domain.CodeMissingField, domain.CodeInvalidUTF8}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := decodeFrame(b)
		if len(fr.Ref) > MaxRefLen {
			t.Fatalf("ref of %d bytes kept; the limit is %d", len(fr.Ref), MaxRefLen)
		}
		if err != nil {
			var e *domain.Error
			if !errors.As(err, &e) || !slices.Contains(codes, e.Code) {
				t.Fatalf("error %v is not a client error with a frame code", err)
			}
			return
		}
		switch fr.Type {
		case TypeAck, TypeRead:
			if fr.ID == "" {
				t.Fatalf("accepted %s without id: %q", fr.Type, b)
			}
		case TypeSend:
		default:
			t.Fatalf("accepted a frame of type %q: %q", fr.Type, b)
		}
	})
}
