package httpapi_test

import (
	"bufio"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/tidings-chat/tidings/adapters/httpapi"
	"github.com/tidings-chat/tidings/adapters/ws"
)

// notAPI are the paths of the web client's files, not the REST API: they
// are not in docs/openapi.yaml.
var notAPI = []string{"/", "/static/*"}

// TestOpenAPIMatchesRouter: every route the server has (with metrics, the
// WebSocket route as the hub mounts it and the web client) is an
// operation of docs/openapi.yaml, every operation there is a route, and
// docs/api.md has a heading for each. Adding a route without documenting
// it fails here.
func TestOpenAPIMatchesRouter(t *testing.T) {
	h := newHarness(t, httpapi.Config{}, func(d *httpapi.Deps) {
		d.Metrics = httpapi.NewMetrics()
		var hub *ws.Hub // only its Mount runs: the routes it adds
		d.Extra = hub.Mount
		d.UI = http.NotFoundHandler()
	})
	var routes []string
	err := chi.Walk(h.api.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.ReplaceAll(route, "/*/", "/") // chi's mark of a group
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	routes = slices.DeleteFunc(routes, func(r string) bool {
		_, path, _ := strings.Cut(r, " ")
		return slices.Contains(notAPI, path)
	})
	slices.Sort(routes)
	routes = slices.Compact(routes)

	spec := specOperations(t, "../../docs/openapi.yaml")
	if missing := minus(routes, spec); len(missing) > 0 {
		t.Errorf("routes not in docs/openapi.yaml: %q", missing)
	}
	if extra := minus(spec, routes); len(extra) > 0 {
		t.Errorf("docs/openapi.yaml operations that are no route: %q", extra)
	}
	doc := apiMDEndpoints(t, "../../docs/api.md")
	if missing := minus(spec, doc); len(missing) > 0 {
		t.Errorf("docs/openapi.yaml operations without a heading in docs/api.md: %q", missing)
	}
	if extra := minus(doc, spec); len(extra) > 0 {
		t.Errorf("docs/api.md headings of no docs/openapi.yaml operation: %q", extra)
	}
}

// specOperations returns "METHOD /path" for each operation of the OpenAPI
// document at path, read from its block-style YAML: a path is a key of
// two spaces' indent under "paths:", a method one of four under it.
func specOperations(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		ops     []string
		inPaths bool
		current string
	)
	pathKey := regexp.MustCompile(`^  (/[^:]*):\s*$`)
	methodKey := regexp.MustCompile(`^    (get|put|post|delete|options|head|patch|trace):\s*$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case strings.HasPrefix(line, "paths:"):
			t.Fatalf("%s: write paths in block style, one key a line", path)
		case inPaths && line != "" && line[0] != ' ' && line[0] != '#':
			inPaths = false // the next top-level key
		case !inPaths:
		case pathKey.MatchString(line):
			current = pathKey.FindStringSubmatch(line)[1]
		case methodKey.MatchString(line) && current != "":
			ops = append(ops, strings.ToUpper(methodKey.FindStringSubmatch(line)[1])+" "+current)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ops) == 0 {
		t.Fatalf("%s: no operations found under paths:", path)
	}
	slices.Sort(ops)
	return ops
}

// apiMDEndpoints returns "METHOD /path" for each `METHOD /path` quoted in
// a "### " heading of docs/api.md (a query string is left off).
func apiMDEndpoints(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := regexp.MustCompile("`(GET|PUT|POST|DELETE|OPTIONS|HEAD|PATCH) (/[^`?]*)(\\?[^`]*)?`")
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "### ") {
			continue
		}
		for _, m := range endpoint.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1]+" "+m[2])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
