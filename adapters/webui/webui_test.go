package webui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWebUIServesFilesWithTypesAndCSP(t *testing.T) {
	h := Handler()
	index := get(t, h, http.MethodGet, "/")
	html := body(t, index)
	if index.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d", index.StatusCode)
	}
	if got := index.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("GET / Content-Type = %q", got)
	}
	if got := index.Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("GET / Cache-Control = %q, want no-cache", got)
	}
	if !strings.Contains(html, `<div id="app"`) {
		t.Errorf("GET / is not the client:\n%s", html)
	}
	// No inline script or style: everything comes from /static/.
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`).MatchString(html) {
		t.Errorf("index.html has inline script or style (CSP forbids it)")
	}

	versioned := regexp.MustCompile(`"/static/([a-z]+\.[a-z]+)\?v=([0-9a-f]{16})"`).FindAllStringSubmatch(html, -1)
	if len(versioned) < 3 {
		t.Fatalf("index.html names %d versioned assets, want app.js, app.css and icon.svg: %q", len(versioned), versioned)
	}
	want := map[string]string{
		"app.js":   "text/javascript; charset=utf-8",
		"app.css":  "text/css; charset=utf-8",
		"icon.svg": "image/svg+xml",
	}
	for _, v := range versioned {
		name, ver := v[1], v[2]
		res := get(t, h, http.MethodGet, "/static/"+name+"?v="+ver)
		b := body(t, res)
		if res.StatusCode != http.StatusOK || len(b) == 0 {
			t.Errorf("GET /static/%s = %d, %d bytes", name, res.StatusCode, len(b))
		}
		if ct, ok := want[name]; ok && res.Header.Get("Content-Type") != ct {
			t.Errorf("GET /static/%s Content-Type = %q, want %q", name, res.Header.Get("Content-Type"), ct)
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET /static/%s?v=%s Cache-Control = %q, want immutable", name, ver, got)
		}
		// Without the current version: revalidate, and the ETag answers 304.
		plain := get(t, h, http.MethodGet, "/static/"+name)
		if got := plain.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET /static/%s Cache-Control = %q, want no-cache", name, got)
		}
		etag := plain.Header.Get("ETag")
		if etag == "" {
			t.Errorf("GET /static/%s has no ETag", name)
			continue
		}
		if res := get(t, h, http.MethodGet, "/static/"+name, "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
			t.Errorf("GET /static/%s If-None-Match = %d, want 304", name, res.StatusCode)
		}
	}

	for _, target := range []string{"/", "/static/app.js", "/static/nope.js"} {
		res := get(t, h, http.MethodGet, target)
		csp := res.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "connect-src 'self' ws: wss:", "script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("GET %s: CSP %q lacks %q", target, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP allows inline code: %q", target, csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no X-Content-Type-Options: nosniff", target)
		}
	}
}

func TestWebUIUnknownAssetIs404(t *testing.T) {
	h := Handler()
	for _, target := range []string{"/static/nope.js", "/static/", "/static/../webui.go", "/static/sub/app.js", "/elsewhere"} {
		res := get(t, h, http.MethodGet, target)
		b := body(t, res)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", target, res.StatusCode)
		}
		if !strings.Contains(b, `"code":"not_found"`) || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: body %q (%s), want the API's JSON not_found", target, b, res.Header.Get("Content-Type"))
		}
	}
	res := get(t, h, http.MethodPost, "/")
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST / = %d (Allow %q), want 405 with Allow: GET, HEAD", res.StatusCode, res.Header.Get("Allow"))
	}
	if res := get(t, h, http.MethodHead, "/static/app.css"); res.StatusCode != http.StatusOK {
		t.Errorf("HEAD /static/app.css = %d, want 200", res.StatusCode)
	}
}

// The client must never render message text or names as HTML.
func TestWebUIScriptAvoidsHTMLSinks(t *testing.T) {
	for _, name := range []string{"app.js", "logic.js"} {
		b, err := files.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			if strings.Contains(string(b), sink) {
				t.Errorf("%s uses %s; write text with textContent", name, sink)
			}
		}
	}
}
