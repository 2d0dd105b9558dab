package httpapi

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestErrorCodesDocumented: the codes the API answers (statusOf) are the
// spec's Error code enum and the rows of api.md's error table, each with
// its status.
func TestErrorCodesDocumented(t *testing.T) {
	var codes []string
	for c := range statusOf {
		codes = append(codes, string(c))
	}
	slices.Sort(codes)

	spec, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(spec), "\n            code:\n")
	if !ok {
		t.Fatal("docs/openapi.yaml has no Error code property")
	}
	_, rest, _ = strings.Cut(rest, "              enum:\n")
	var enum []string
	for _, line := range strings.Split(rest, "\n") {
		c, ok := strings.CutPrefix(line, "                - ")
		if !ok {
			break
		}
		enum = append(enum, c)
	}
	slices.Sort(enum)
	if !slices.Equal(enum, codes) {
		t.Errorf("docs/openapi.yaml Error codes %q, the API's %q", enum, codes)
	}

	md, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([a-z_0-9]+)` \\| ([0-9]{3}) \\|")
	documented := map[string]int{}
	for _, line := range strings.Split(string(md), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			documented[m[1]], _ = strconv.Atoi(m[2])
		}
	}
	for c, status := range statusOf {
		if got, ok := documented[string(c)]; !ok || got != status {
			t.Errorf("docs/api.md says %s is %d (0: not listed); the API answers %d", c, got, status)
		}
	}
	if len(documented) != len(statusOf) {
		t.Errorf("docs/api.md lists %d codes, the API has %d", len(documented), len(statusOf))
	}
}
