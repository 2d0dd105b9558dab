package domain

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestJSONDecodeError(t *testing.T) {
	type inner struct {
		Tags []string `json:"tags"`
	}
	type frame struct {
		Type   string  `json:"type"`
		Count  int     `json:"count"`
		Ratio  float64 `json:"ratio"`
		Status Status  `json:"status"`
		Inner  inner   `json:"inner"`
	}
	tests := []struct {
		in   string
		code Code
		msg  string
	}{
		{`[]`, CodeInvalidField, `frame must be a JSON object, not an array`},
		{`"x"`, CodeInvalidField, `frame must be a JSON object, not a string`},
		{`{"type":1}`, CodeInvalidField, `field "type" must be a string, not a number`},
		{`{"type":null}`, "", ""},
		{`{"count":1.5}`, CodeInvalidField, `field "count" must be a whole number`},
		{`{"count":"1"}`, CodeInvalidField, `field "count" must be a whole number, not a string`},
		{`{"ratio":true}`, CodeInvalidField, `field "ratio" must be a number, not a boolean`},
		{`{"status":2}`, CodeInvalidField, `field "status" must be a string, not a number`},
		{`{"inner":[]}`, CodeInvalidField, `field "inner" must be a JSON object, not an array`},
		{`{"inner":{"tags":[1]}}`, CodeInvalidField, `field "inner.tags" must be a string, not a number`},
		{`{"inner":{"tags":{}}}`, CodeInvalidField, `field "inner.tags" must be an array, not an object`},
		{`{"extra":1}`, CodeUnknownField, `unknown field "extra"`},
		{`{"type":"a"`, CodeMalformedJSON, `frame is not valid JSON (it ends too soon)`},
		{`{"type" 1}`, CodeMalformedJSON, `frame is not valid JSON (error at byte 9)`},
		{``, CodeMalformedJSON, `frame is empty; it must be a JSON object`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var f frame
			dec := json.NewDecoder(bytes.NewReader([]byte(tc.in)))
			dec.DisallowUnknownFields()
			err := dec.Decode(&f)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				return
			}
			e, _ := ClientError(JSONDecodeError("frame", err))
			if e.Code != tc.code || e.Message != tc.msg {
				t.Fatalf("got %s %q, want %s %q (from %v)", e.Code, e.Message, tc.code, tc.msg, err)
			}
		})
	}
}

// TestDecodeStrictTrailing: after the one JSON value only JSON white space
// (space, tab, CR, LF) may follow; anything else, also other Unicode
// white space, is malformed_json. FuzzDecodeStrict found `{}\v` accepted.
func TestDecodeStrictTrailing(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"nothing after", `{"a":"x"}`, true},
		{"JSON white space", "{\"a\":\"x\"} \t\r\n", true},
		{"a brace", `{"a":"x"}}`, false},
		{"a bracket", `{"a":"x"}]`, false},
		{"a second value", `{"a":"x"} {}`, false},
		{"vertical tab", "{\"a\":\"x\"}\v", false},
		{"form feed", "{\"a\":\"x\"}\f", false},
		{"next line", "{\"a\":\"x\"}\u0085", false},
		{"no-break space", "{\"a\":\"x\"}\u00a0", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v struct {
				A string `json:"a"`
			}
			err := DecodeStrict([]byte(tc.body), &v, "request body")
			switch {
			case tc.ok && err != nil:
				t.Fatalf("DecodeStrict(%q): %v", tc.body, err)
			case !tc.ok && CodeOf(err) != CodeMalformedJSON:
				t.Fatalf("DecodeStrict(%q) = %v, want %s", tc.body, err, CodeMalformedJSON)
			}
		})
	}
}
