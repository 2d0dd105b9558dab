package main

// REST helpers of the browser test (TestBrowserChat): what a third user
// does without a browser.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// browserJSON is v as JSON.stringify writes it (no HTML escaping).
func browserJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// browserRegister signs a user up over the REST API and returns its token and id.
func browserRegister(t *testing.T, base, name string) (token, id string) {
	t.Helper()
	var out struct{ ID, Token string }
	browserPostJSON(t, base+"/users", "", map[string]string{"name": name}, &out)
	return out.Token, out.ID
}

// browserSendREST sends text to the user called toName (toID when known).
func browserSendREST(t *testing.T, base, token, toID, toName, text string) {
	t.Helper()
	if toID == "" {
		req, _ := http.NewRequest(http.MethodGet, base+"/users?name="+toName, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var u struct{ ID string }
		if err := json.NewDecoder(res.Body).Decode(&u); err != nil || u.ID == "" {
			t.Fatalf("GET /users?name=%s: %v %v", toName, res.Status, err)
		}
		toID = u.ID
	}
	browserPostJSON(t, base+"/messages", token, map[string]string{"to": toID, "text": text}, nil)
}

func browserPostJSON(t *testing.T, url, token string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	rb, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %s %s", url, res.Status, rb)
	}
	if out != nil {
		if err := json.Unmarshal(rb, out); err != nil {
			t.Fatalf("POST %s: %v in %s", url, err, rb)
		}
	}
}
