package webui

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The light theme (:root) and the dark theme (prefers-color-scheme: dark)
// of app.css keep text readable: WCAG 2 contrast of 7:1 for message text,
// 4.5:1 for other text, 3:1 for ticks (graphics, WCAG 1.4.11).
func TestThemesHaveReadableContrast(t *testing.T) {
	css, err := files.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	src := string(css)
	dark := strings.Index(src, "@media (prefers-color-scheme: dark)")
	if dark < 0 {
		t.Fatal("app.css has no dark theme (@media (prefers-color-scheme: dark))")
	}
	end := strings.Index(src[dark:], "\n}\n")
	light := cssVars(src[:strings.Index(src, "\n}\n")])
	themes := []struct {
		name string
		vars map[string]string
	}{
		{"light", light},
		{"dark", merge(light, cssVars(src[dark:dark+end]))},
	}
	pairs := []struct {
		fg, bg string
		min    float64
	}{
		{"text", "bg", 7}, {"text", "panel", 7}, {"text", "mine", 7}, {"text", "theirs", 7},
		{"muted", "panel", 4.5}, {"muted", "bg", 4.5}, {"muted", "mine", 4.5}, {"muted", "theirs", 4.5},
		{"link", "theirs", 4.5}, {"link-mine", "mine", 4.5},
		{"accent-ink", "accent", 4.5}, {"chip-ink", "chip", 4.5}, {"divider", "bg", 4.5},
		{"danger", "danger-bg", 4.5}, {"danger", "panel", 4.5}, {"warn-ink", "warn-bg", 4.5},
		{"info-ink", "info-bg", 4.5}, {"near", "panel", 4.5},
		{"tick", "mine", 3}, {"read", "mine", 3},
	}
	for _, th := range themes {
		for _, p := range pairs {
			fg, bg := th.vars[p.fg], th.vars[p.bg]
			c, ok := contrast(fg, bg)
			if !ok {
				t.Errorf("%s: --%s (%q) or --%s (%q) is not a #rrggbb colour", th.name, p.fg, fg, p.bg, bg)
				continue
			}
			if c < p.min {
				t.Errorf("%s: --%s on --%s has contrast %.2f:1, want at least %.1f:1", th.name, p.fg, p.bg, c, p.min)
			}
		}
	}
}

func cssVars(block string) map[string]string {
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*([^;]+);`).FindAllStringSubmatch(block, -1) {
		out[m[1]] = strings.TrimSpace(m[2])
	}
	return out
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// contrast is the WCAG 2 contrast ratio of two #rrggbb colours.
func contrast(a, b string) (float64, bool) {
	la, ok1 := luminance(a)
	lb, ok2 := luminance(b)
	if !ok1 || !ok2 {
		return 0, false
	}
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05), true
}

func luminance(hex string) (float64, bool) {
	if len(hex) != 7 || hex[0] != '#' {
		return 0, false
	}
	var ch [3]float64
	for i := range ch {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return 0, false
		}
		c := float64(v) / 255
		if c <= 0.04045 {
			ch[i] = c / 12.92
		} else {
			ch[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*ch[0] + 0.7152*ch[1] + 0.0722*ch[2], true
}
