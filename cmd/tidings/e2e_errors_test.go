package main

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// The error cases of the walkthrough: authentication, request validation,
// cursors and the privacy rule.

// unknownID is a well-formed id that no user or message has.
const unknownID = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"

func (w *world) testUnauthorized(t *testing.T) {
	endpoints := []struct{ method, path, body string }{
		{http.MethodGet, "/messages", ""},
		{http.MethodPost, "/messages", `{"to":"` + w.bob.ID + `","text":"hi"}`},
		{http.MethodGet, "/messages/" + unknownID, ""},
		{http.MethodPatch, "/messages/" + unknownID, ""},
		{http.MethodPut, "/messages/" + unknownID, ""},
		{http.MethodGet, "/conversations", ""},
		{http.MethodGet, "/conversations/" + w.bob.ID + "/messages", ""},
	}
	credentials := []struct{ name, authorization string }{
		{"no header", ""},
		{"empty bearer", "Bearer "},
		{"unknown token", "Bearer tdg_" + strings.Repeat("A", 43)},
		{"token with a character more", "Bearer " + w.alice.Token + "x"},
		{"token without prefix", "Bearer " + strings.TrimPrefix(w.alice.Token, "tdg_")},
		{"basic scheme", "Basic " + w.alice.Token},
		{"bare token", w.alice.Token},
	}
	for _, e := range endpoints {
		for _, c := range credentials {
			t.Run(e.method+" "+e.path+" "+c.name, func(t *testing.T) {
				req := request{Method: e.method, Path: e.path, Header: http.Header{}}
				if e.body != "" {
					req.Body = []byte(e.body)
				}
				if c.authorization != "" {
					req.Header.Set("Authorization", c.authorization)
				}
				expectError(t, w.api.do(t, req), http.StatusUnauthorized, "unauthorized")
			})
		}
	}
}

// sizedBody returns a send request to `to` of exactly n bytes.
func sizedBody(to string, n int) []byte {
	head, tail := `{"to":"`+to+`","text":"`, `"}`
	return []byte(head + strings.Repeat("a", n-len(head)-len(tail)) + tail)
}

func (w *world) testSendValidation(t *testing.T) {
	bob := w.bob.ID
	withText := func(text string) string { return `{"to":"` + bob + `","text":"` + text + `"}` }
	cases := []struct {
		name, contentType string
		body              []byte
		status            int
		code              string
	}{
		{"missing to", "", []byte(`{"text":"hi"}`), 400, "missing_field"},
		{"missing text", "", []byte(`{"to":"` + bob + `"}`), 400, "missing_field"},
		{"null text", "", []byte(`{"to":"` + bob + `","text":null}`), 400, "missing_field"},
		{"empty to", "", []byte(`{"to":"","text":"hi"}`), 400, "missing_field"},
		{"unknown recipient", "", []byte(`{"to":"` + unknownID + `","text":"hi"}`), 400, "unknown_recipient"},
		{"recipient not an id", "", []byte(`{"to":"bob","text":"hi"}`), 400, "unknown_recipient"},
		{"empty text", "", []byte(withText("")), 400, "empty_text"},
		{"blank text", "", []byte(withText(` \n\t `)), 400, "empty_text"},
		{"4097 characters", "", []byte(withText(strings.Repeat("a", 4097))), 400, "text_too_long"},
		{"4097 two-byte characters", "", []byte(withText(strings.Repeat("é", 4097))), 400, "text_too_long"},
		{"invalid UTF-8", "", []byte(withText("caf\xe9 \xff")), 400, "invalid_utf8"},
		{"unknown field", "", []byte(`{"to":"` + bob + `","text":"hi","priority":1}`), 400, "unknown_field"},
		{"malformed JSON", "", []byte(`{"to":"` + bob + `","text":`), 400, "malformed_json"},
		{"not JSON", "", []byte(`hello`), 400, "malformed_json"},
		{"empty body", "", []byte{}, 400, "malformed_json"},
		{"two JSON values", "", []byte(withText("a") + withText("b")), 400, "malformed_json"},
		{"to is a number", "", []byte(`{"to":42,"text":"hi"}`), 400, "invalid_field"},
		{"text is an array", "", []byte(`{"to":"` + bob + `","text":["hi"]}`), 400, "invalid_field"},
		{"client_msg_id is a number", "", []byte(`{"to":"` + bob + `","text":"hi","client_msg_id":7}`), 400, "invalid_field"},
		{"text/plain", "text/plain", []byte(withText("hi")), 415, "unsupported_media_type"},
		{"form", "application/x-www-form-urlencoded", []byte("to=" + bob + "&text=hi"), 415, "unsupported_media_type"},
		{"no content type", noContentType, []byte(withText("hi")), 415, "unsupported_media_type"},
		{"body of 64 KiB + 1", "", sizedBody(bob, 64<<10+1), 413, "body_too_large"},
		{"body of 1 MiB", "", sizedBody(bob, 1<<20), 413, "body_too_large"},
		// Exactly at the body limit the body is read, and its text is too long.
		{"body of exactly 64 KiB", "", sizedBody(bob, 64<<10), 400, "text_too_long"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := w.api.do(t, request{Method: http.MethodPost, Path: "/messages", Token: w.alice.Token,
				Body: tc.body, ContentType: tc.contentType})
			expectError(t, res, tc.status, tc.code)
		})
	}
	// The accepted edges: 4096 characters of two bytes each, and a JSON
	// content type with parameters.
	t.Run("4096 two-byte characters", func(t *testing.T) {
		w.send(t, w.alice, w.zed, strings.Repeat("é", 4096), "")
	})
	t.Run("content type with charset", func(t *testing.T) {
		res := w.api.do(t, request{Method: http.MethodPost, Path: "/messages", Token: w.alice.Token,
			Body: []byte(`{"to":"` + w.zed.ID + `","text":"charset"}`), ContentType: "application/json; charset=utf-8"})
		expectStatus(t, res, http.StatusOK)
		w.model.put(decode[message](t, res))
	})
}

// testBadCursors checks that cursors the server never gave out are
// rejected on a list endpoint.
func (w *world) testBadCursors(t *testing.T, u user, path string) {
	cursors := []struct{ name, cursor string }{
		{"not base64", "***"},
		{"padded base64", "AAAA=="},
		{"over 512 bytes", strings.Repeat("A", 700)},
		// A well-formed but made-up cursor is just as bad.
		{"tampered cursor", "bm90LWEtY3Vyc29y"}, // base64url("not-a-cursor")
	}
	for _, c := range cursors {
		t.Run(c.name, func(t *testing.T) {
			expectError(t, w.api.get(t, u, path+"?limit=3&cursor="+c.cursor), http.StatusBadRequest, "invalid_cursor")
		})
	}
}

func (w *world) testPrivacy(t *testing.T) {
	id := w.hello.ID // alice -> bob
	var bobToAlice message
	for _, m := range w.model.all() {
		if m.From == w.bob.ID && m.To == w.alice.ID {
			bobToAlice = m
			break
		}
	}
	hidden := w.api.get(t, w.carol, "/messages/"+id)
	expectError(t, hidden, http.StatusNotFound, "not_found")
	missing := w.api.get(t, w.carol, "/messages/"+unknownID)
	expectError(t, missing, http.StatusNotFound, "not_found")
	if string(hidden.Body) != string(missing.Body) {
		t.Errorf("another pair's message and a missing one answer differently:\n%s\n%s", hidden.Body, missing.Body)
	}
	cases := []struct {
		name   string
		u      user
		method string
		id     string
	}{
		{"stranger GET", w.carol, http.MethodGet, id},
		{"stranger PATCH", w.carol, http.MethodPatch, id},
		{"stranger PUT", w.carol, http.MethodPut, id},
		{"sender PATCH", w.alice, http.MethodPatch, id},
		{"sender PUT", w.alice, http.MethodPut, id},
		{"bob as sender PATCH", w.bob, http.MethodPatch, bobToAlice.ID},
		{"unknown id GET", w.bob, http.MethodGet, unknownID},
		{"unknown id PATCH", w.bob, http.MethodPatch, unknownID},
		{"unknown id PUT", w.bob, http.MethodPut, unknownID},
		{"malformed id GET", w.bob, http.MethodGet, "not-an-id"},
		{"malformed id PATCH", w.bob, http.MethodPatch, "not-an-id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := w.api.do(t, request{Method: c.method, Path: "/messages/" + c.id, Token: c.u.Token})
			expectError(t, res, http.StatusNotFound, "not_found")
		})
	}
	// None of that changed anything (bob's inbox reads may have marked it
	// delivered; the model knows).
	want, _ := w.model.get(id)
	for _, u := range []user{w.alice, w.bob} {
		res := w.api.get(t, u, "/messages/"+id)
		expectStatus(t, res, http.StatusOK)
		if got := decode[message](t, res); !reflect.DeepEqual(got, want) {
			t.Errorf("%s sees %v after the refused marks, want %v", u.Name, got, want)
		}
	}
}
