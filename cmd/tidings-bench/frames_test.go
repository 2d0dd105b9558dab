package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidings-chat/tidings/domain"
)

// refFrame decodes b the slow, obviously right way: encoding/json with
// exact key matching (a map of raw members), as parseFrame promises.
func refFrame(b []byte) (inFrame, error) {
	var f inFrame
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return f, err
	}
	if top == nil {
		return f, errType // null
	}
	str := func(raw json.RawMessage, dst *string) (bool, error) {
		if raw == nil || string(raw) == "null" {
			return false, nil
		}
		return true, json.Unmarshal(raw, dst)
	}
	obj := func(raw json.RawMessage) (map[string]json.RawMessage, bool, error) {
		if raw == nil || string(raw) == "null" {
			return nil, false, nil
		}
		var m map[string]json.RawMessage
		return m, true, json.Unmarshal(raw, &m)
	}
	for _, k := range []struct {
		key string
		dst *string
	}{{"type", &f.Type}, {"cursor", &f.Cursor}, {"ref", &f.Ref}, {"status", &f.Status}, {"id", &f.ID}} {
		if _, err := str(top[k.key], k.dst); err != nil {
			return f, err
		}
	}
	if raw := top["ok"]; raw != nil && string(raw) != "null" {
		if err := json.Unmarshal(raw, &f.OK); err != nil {
			return f, err
		}
	}
	m, has, err := obj(top["message"])
	if err != nil {
		return f, err
	}
	f.HasMessage = has
	if _, err := str(m["id"], &f.MessageID); err != nil {
		return f, err
	}
	if f.HasClientMsgID, err = str(m["client_msg_id"], &f.ClientMsgID); err != nil {
		return f, err
	}
	e, has, err := obj(top["error"])
	if err != nil {
		return f, err
	}
	f.HasError = has
	if _, err := str(e["code"], &f.ErrorCode); err != nil {
		return f, err
	}
	return f, nil
}

var frameCases = []struct {
	name  string
	frame string
	want  inFrame // checked against refFrame too
	bad   bool
}{
	{name: "message", frame: `{"type":"message","cursor":"7-1843","message":{"id":"01M8B1QD6N1FB7JWSADHT788G0","from":"01M8B1QCVA63ES9FVWWAQTKA3Q",
 "to":"01M8B1QCVMF1DRTYN159HXJJ7T","text":"hi \"you\" \\ {}[]","client_msg_id":"c-42","sent_at":"2026-11-26T04:31:07.123Z",
 "status":"sent","delivered_at":null,"read_at":null}}`,
		want: inFrame{Type: "message", Cursor: "7-1843", HasMessage: true, MessageID: "01M8B1QD6N1FB7JWSADHT788G0", ClientMsgID: "c-42", HasClientMsgID: true}},
	{name: "message without client_msg_id", frame: `{"type":"message","cursor":"1-2","message":{"id":"m1","client_msg_id":null}}`,
		want: inFrame{Type: "message", Cursor: "1-2", HasMessage: true, MessageID: "m1"}},
	{name: "receipt", frame: `{"type":"receipt","cursor":"2-915","status":"read","id":"01M8B1QD6N1FB7JWSADHT788G0","at":"2026-11-26T04:31:20.450Z"}`,
		want: inFrame{Type: "receipt", Cursor: "2-915", Status: "read", ID: "01M8B1QD6N1FB7JWSADHT788G0"}},
	{name: "ack ok", frame: `{"type":"ack","ref":"r1","ok":true,"message":{"id":"x","client_msg_id":"c1","n":[1,2.5e3,{"a":[]}]},"position":"3-1841"}`,
		want: inFrame{Type: "ack", Ref: "r1", OK: true, HasMessage: true, MessageID: "x", ClientMsgID: "c1", HasClientMsgID: true}},
	{name: "ack error", frame: `{"type":"ack","ref":"r2","ok":false,"error":{"code":"unknown_recipient","message":"no user with id \"x\""}}`,
		want: inFrame{Type: "ack", Ref: "r2", HasError: true, ErrorCode: "unknown_recipient"}},
	{name: "ready with whitespace", frame: " \n{ \"type\" : \"ready\" ,\t\"cursor\" : \"7-1842\", \"reset\": true } \r\n",
		want: inFrame{Type: "ready", Cursor: "7-1842"}},
	{name: "escapes", frame: `{"type":"ack","ref":"s\u00e9\n\/x","ok":true,"\u0069d":"k"}`,
		want: inFrame{Type: "ack", Ref: "sé\n/x", OK: true, ID: "k"}},
	{name: "unknown type and repeated key", frame: `{"type":"hello","type":"read","id":"a","id":"b"}`,
		want: inFrame{Type: "read", ID: "b"}},
	{name: "case matters", frame: `{"Type":"message","TYPE":"x"}`, want: inFrame{}},
	{name: "nulls", frame: `{"type":null,"ok":null,"message":null,"error":null}`, want: inFrame{}},
	{name: "empty object", frame: `{}`, want: inFrame{}},
	{name: "not an object", frame: `["type"]`, bad: true},
	{name: "null", frame: `null`, bad: true},
	{name: "truncated", frame: `{"type":"message","cursor":"7-`, bad: true},
	{name: "trailing data", frame: `{"type":"ack"} {}`, bad: true},
	{name: "trailing comma", frame: `{"type":"ack",}`, bad: true},
	{name: "bad number", frame: `{"type":"ack","n":01}`, bad: true},
	{name: "bad escape", frame: `{"type":"a\x"}`, bad: true},
	{name: "control character", frame: "{\"type\":\"a\tb\"}", bad: true},
	{name: "wrong type for a known field", frame: `{"type":5}`, bad: true},
	{name: "wrong type for ok", frame: `{"type":"ack","ok":"yes"}`, bad: true},
	{name: "message not an object", frame: `{"type":"message","message":"m"}`, bad: true},
	{name: "deep nesting", frame: `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, bad: true},
}

func TestParseFrame(t *testing.T) {
	for _, tt := range frameCases {
		t.Run(tt.name, func(t *testing.T) {
			var got inFrame
			err := parseFrame([]byte(tt.frame), &got)
			if tt.bad {
				if err == nil {
					t.Fatalf("parseFrame(%s) = %+v, want an error", tt.frame, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFrame(%s): %v", tt.frame, err)
			}
			if got != tt.want {
				t.Errorf("parseFrame(%s)\n got %+v\nwant %+v", tt.frame, got, tt.want)
			}
			if ref, err := refFrame([]byte(tt.frame)); err != nil || ref != got {
				t.Errorf("encoding/json reads %+v (err %v), parseFrame %+v", ref, err, got)
			}
		})
	}
}

// FuzzParseFrame checks parseFrame against encoding/json on any input:
// the same verdict on validity (except nesting beyond maxDepth, which
// only parseFrame refuses) and the same fields.
func FuzzParseFrame(f *testing.F) {
	for _, tt := range frameCases {
		f.Add([]byte(tt.frame))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got inFrame
		err := parseFrame(b, &got)
		ref, refErr := refFrame(b)
		switch {
		case err == nil && refErr != nil:
			t.Fatalf("parseFrame accepts %q, encoding/json: %v", b, refErr)
		case err != nil && refErr == nil && !strings.Contains(string(b), strings.Repeat("[", maxDepth/2)) &&
			!strings.Contains(string(b), strings.Repeat("{", maxDepth/2)):
			t.Fatalf("parseFrame refuses %q (%v), encoding/json reads %+v", b, err, ref)
		case err == nil && got != ref:
			t.Fatalf("%q: parseFrame %+v, encoding/json %+v", b, got, ref)
		}
	})
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s/`, "tab\tnl\ncr\r\x00\x1f", "é ü 日本", "\u2028\u2029", "bad \xff utf8", "<&>"} {
		t.Run(s, func(t *testing.T) {
			b := domain.AppendJSONString(nil, s)
			var back string
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("%q encodes as %s, not JSON: %v", s, b, err)
			}
			want := strings.ToValidUTF8(s, "\uFFFD")
			if back != want {
				t.Errorf("%q encodes as %s, which decodes to %q", s, b, back)
			}
		})
	}
}

func TestAnswerID(t *testing.T) {
	tests := []struct {
		name, answer, want string
		bad                bool
	}{
		{name: "message", answer: `{"id":"m1","from":"a","text":"{\"id\":\"no\"}","status":"sent"}`, want: "m1"},
		{name: "no id", answer: `{"status":"sent"}`, bad: true},
		{name: "not JSON", answer: `<html>`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := answerID([]byte(tt.answer))
			if (err != nil) != tt.bad || id != tt.want {
				t.Errorf("answerID(%s) = %q, %v; want %q (error %v)", tt.answer, id, err, tt.want, tt.bad)
			}
		})
	}
}
