// Package webui serves tidings' single-page web chat client: plain HTML,
// CSS and JavaScript embedded in the binary (no build step, no external
// resources). The client speaks only the public REST API (docs/api.md)
// and the WebSocket protocol (docs/websocket.md); see docs/web-client.md.
package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var files embed.FS

// ContentSecurityPolicy is sent with every response of the handler. Only
// same-origin scripts, styles and images run (no inline script or style);
// the page may talk to its own origin and open WebSockets.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Cache policies. index.html is revalidated on every load (it is small and
// names the current assets); an asset requested with the version index.html
// gives it (?v=<hash of its content>) never changes and is cached for a year;
// any other asset request is revalidated by ETag.
const (
	cacheIndex     = "no-cache"
	cacheVersioned = "public, max-age=31536000, immutable"
	cacheAsset     = "no-cache"
)

type asset struct {
	name    string // base name, e.g. "app.js"
	body    []byte
	ctype   string
	etag    string // quoted
	version string // short content hash, the ?v= of versioned URLs
}

// Handler serves the client: index.html at "/" and the assets under
// "/static/". Mount it for exactly those paths; every other path answers
// 404. Only GET and HEAD are allowed.
func Handler() http.Handler {
	h, err := newHandler(files)
	if err != nil {
		panic("webui: " + err.Error()) // the embedded files are fixed at build time
	}
	return h
}

type handler struct {
	index  *asset
	assets map[string]*asset // by base name
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

func newHandler(fsys fs.FS) (*handler, error) {
	h := &handler{assets: map[string]*asset{}}
	entries, err := fs.ReadDir(fsys, "static")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(fsys, "static/"+e.Name())
		if err != nil {
			return nil, err
		}
		ct, ok := contentTypes[path.Ext(e.Name())]
		if !ok {
			ct = "application/octet-stream"
		}
		h.assets[e.Name()] = newAsset(e.Name(), b, ct)
	}
	idx, ok := h.assets["index.html"]
	if !ok {
		return nil, fs.ErrNotExist
	}
	delete(h.assets, "index.html")
	// Point index.html at the versioned asset URLs.
	body := idx.body
	for name, a := range h.assets {
		body = bytes.ReplaceAll(body, []byte(`"/static/`+name+`"`), []byte(`"/static/`+name+`?v=`+a.version+`"`))
	}
	h.index = newAsset("index.html", body, idx.ctype)
	return h, nil
}

func newAsset(name string, body []byte, ctype string) *asset {
	sum := sha256.Sum256(body)
	v := hex.EncodeToString(sum[:8])
	return &asset{name: name, body: body, ctype: ctype, etag: `"` + v + `"`, version: v}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")

	var a *asset
	cache := cacheAsset
	switch {
	case r.URL.Path == "/" || r.URL.Path == "/index.html":
		a, cache = h.index, cacheIndex
	case strings.HasPrefix(r.URL.Path, "/static/"):
		a = h.assets[strings.TrimPrefix(r.URL.Path, "/static/")]
		if a != nil && r.URL.Query().Get("v") == a.version {
			cache = cacheVersioned
		}
	}
	if a == nil {
		writeError(w, http.StatusNotFound, "not_found", "no such page")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method "+r.Method+" not allowed here")
		return
	}
	hdr.Set("Content-Type", a.ctype)
	hdr.Set("Cache-Control", cache)
	hdr.Set("ETag", a.etag)
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}

// writeError answers like the REST API does: {"error":{"code","message"}}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]map[string]string{"error": {"code": code, "message": msg}})
}
