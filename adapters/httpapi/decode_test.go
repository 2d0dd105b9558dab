package httpapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/domain"
)

// goWords are what an error message names when it leaks Go types instead
// of saying what the client sent.
var goWords = regexp.MustCompile(`httpapi|Go |struct|\*string|Request\b|json:|\bint\b|\[\]`)

// TestDecodeErrorsSpeakJSON: every way a body can fail to decode is told
// in the client's terms (JSON kinds and field names), never Go types.
func TestDecodeErrorsSpeakJSON(t *testing.T) {
	h := newHarness(t, httpapi.Config{OpenRegistration: true}, nil)
	_, token := h.user("alice")
	bob, _ := h.user("bob")
	to := `"to":"` + string(bob) + `"`
	tests := []struct {
		name, path, body string
		code             domain.Code
		says             []string // the message holds each
	}{
		{"array body", "/messages", `[]`, domain.CodeInvalidField, []string{"request body", "JSON object", "array"}},
		{"array of one object", "/messages", `[{` + to + `,"text":"hi"}]`, domain.CodeInvalidField, []string{"JSON object", "array"}},
		{"string body", "/messages", `"hi"`, domain.CodeInvalidField, []string{"JSON object", "string"}},
		{"number body", "/messages", `42`, domain.CodeInvalidField, []string{"JSON object", "number"}},
		{"boolean body", "/messages", `true`, domain.CodeInvalidField, []string{"JSON object", "boolean"}},
		{"to is a number", "/messages", `{"to":42,"text":"hi"}`, domain.CodeInvalidField, []string{`"to"`, "string", "number"}},
		{"text is an array", "/messages", `{` + to + `,"text":["hi"]}`, domain.CodeInvalidField, []string{`"text"`, "string", "array"}},
		{"text is an object", "/messages", `{` + to + `,"text":{}}`, domain.CodeInvalidField, []string{`"text"`, "string", "object"}},
		{"client_msg_id is a boolean", "/messages", `{` + to + `,"text":"hi","client_msg_id":false}`, domain.CodeInvalidField, []string{`"client_msg_id"`, "string", "boolean"}},
		{"unknown field", "/messages", `{` + to + `,"text":"hi","priority":1}`, domain.CodeUnknownField, []string{`"priority"`}},
		{"syntax error", "/messages", `{"to" "x"}`, domain.CodeMalformedJSON, []string{"not valid JSON", "byte 7"}},
		{"cut short", "/messages", `{"to":`, domain.CodeMalformedJSON, []string{"not valid JSON"}},
		{"name is a number", "/users", `{"name":7}`, domain.CodeInvalidField, []string{`"name"`, "string", "number"}},
		{"register with an array", "/users", `["carol"]`, domain.CodeInvalidField, []string{"JSON object", "array"}},
		{"a brace after the object", "/messages", `{` + to + `,"text":"hi"}}`, domain.CodeMalformedJSON, []string{"nothing after it"}},
		{"a bracket after the object", "/messages", `{` + to + `,"text":"hi"}]`, domain.CodeMalformedJSON, []string{"nothing after it"}},
		{"a second object", "/messages", `{` + to + `,"text":"hi"} {}`, domain.CodeMalformedJSON, []string{"nothing after it"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := expectError(t, h.do(http.MethodPost, tc.path, bearerHeader(token), tc.body), http.StatusBadRequest, tc.code)
			if goWords.MatchString(msg) {
				t.Errorf("message %q names Go types", msg)
			}
			for _, w := range tc.says {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
		})
	}
}
