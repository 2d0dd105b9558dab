package domain

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// nonBlankPattern is the JSON Schema pattern of a text that is not blank:
// one character outside isBlank's set, as a YAML double-quoted string (the
// characters as YAML escapes, so the regular expression holds them
// literally, which ECMA-262 and Python read alike).
func nonBlankPattern() string {
	var b strings.Builder
	b.WriteString(`"[^`)
	esc := func(r rune) string {
		switch {
		case r <= 0xff:
			return fmt.Sprintf(`\x%02X`, r)
		case r <= 0xffff:
			return fmt.Sprintf(`\u%04X`, r)
		}
		return fmt.Sprintf(`\U%08X`, r)
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !isBlank(r) {
			continue
		}
		lo := r
		for r+1 <= utf8.MaxRune && isBlank(r+1) {
			r++
		}
		b.WriteString(esc(lo))
		if r > lo {
			if r > lo+1 {
				b.WriteString("-")
			}
			b.WriteString(esc(r))
		}
	}
	b.WriteString(`]"`)
	return b.String()
}

// TestOpenAPITextPatternIsValidateText: docs/openapi.yaml's NonBlankText
// pattern names exactly the characters ValidateText counts as blank, so
// the contract says which texts are empty_text and schemathesis generates
// only texts the server takes.
func TestOpenAPITextPatternIsValidateText(t *testing.T) {
	spec, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(spec), "\n    NonBlankText:\n")
	if !ok {
		t.Fatal("docs/openapi.yaml has no components.schemas.NonBlankText")
	}
	var got string
	for _, line := range strings.Split(rest, "\n") {
		if p, ok := strings.CutPrefix(line, "      pattern: "); ok {
			got = p
			break
		}
	}
	if want := nonBlankPattern(); got != want {
		t.Fatalf("NonBlankText pattern is\n%s\nwant (from isBlank)\n%s", got, want)
	}
}
