package domain

import (
	"testing"
	"unicode"
)

// TestValidateTextBlank: text made only of characters a reader sees as
// nothing (Unicode White_Space, invisible format characters, fillers,
// controls) is empty_text; one visible character makes it text.
func TestValidateTextBlank(t *testing.T) {
	blank := []struct {
		name string
		text string
	}{
		{"em space", "\u2003"},
		{"byte order mark", "\ufeff"},
		{"line separator", "\u2028"},
		{"paragraph separator", "\u2029"},
		{"ogham space mark", "\u1680"},
		{"narrow no-break space", "\u202f"},
		{"medium mathematical space", "\u205f"},
		{"ideographic space", "\u3000"},
		{"zero width space", "\u200b"},
		{"zero width non-joiner", "\u200c"},
		{"zero width joiner", "\u200d"},
		{"left-to-right mark", "\u200e"},
		{"bidi embedding and isolate", "\u202a\u2066\u2069\u202c"},
		{"word joiner", "\u2060"},
		{"invisible times", "\u2062"},
		{"mongolian vowel separator", "\u180e"},
		{"mongolian free variation selector", "\u180b"},
		{"hangul filler", "\u3164"},
		{"hangul choseong and jungseong fillers", "\u115f\u1160"},
		{"halfwidth hangul filler", "\uffa0"},
		{"braille pattern blank", "\u2800"},
		{"soft hyphen", "\u00ad"},
		{"combining grapheme joiner", "\u034f"},
		{"arabic letter mark", "\u061c"},
		{"variation selector", "\ufe0f"},
		{"tag characters", "\U000e0001\U000e0041"},
		{"controls", "\x00\x07\x1b\x7f\u0085\u009f"},
		{"a mix", " \u2003\ufeff\u2028\u200b\u3164\u2800\t"},
	}
	for _, tc := range blank {
		t.Run(tc.name, func(t *testing.T) {
			if got := CodeOf(ValidateText(tc.text)); got != CodeEmptyText {
				t.Fatalf("ValidateText(%+q) code %q, want %q", tc.text, got, CodeEmptyText)
			}
		})
	}
	visible := []struct {
		name string
		text string
	}{
		{"a letter among blanks", "\u2003a\ufeff"},
		{"emoji with a joiner", "\U0001f468\u200d\U0001f469"},
		{"emoji variation", "\u2764\ufe0f"},
		{"combining accent alone", "\u0301"},
		{"arabic number sign (a visible format mark)", "\u0600"},
		{"hieroglyph", "\U00013000"},
		{"a dot", "."},
	}
	for _, tc := range visible {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidateText(tc.text); err != nil {
				t.Fatalf("ValidateText(%+q): %v, want it accepted", tc.text, err)
			}
		})
	}
}

// TestEveryBlankPropertyIsBlank checks whole Unicode properties, not only
// the characters named above: White_Space, controls, and the
// Default_Ignorable_Code_Point characters (format characters, variation
// selectors, fillers), less the format marks that are drawn.
func TestEveryBlankPropertyIsBlank(t *testing.T) {
	drawn := func(r rune) bool {
		return unicode.Is(unicode.Prepended_Concatenation_Mark, r) || (r >= 0xfff9 && r <= 0xfffb) || (r >= 0x13430 && r <= 0x1343f)
	}
	for name, rt := range map[string]*unicode.RangeTable{
		"White_Space": unicode.White_Space, "Cc": unicode.Cc, "Cf": unicode.Cf,
		"Other_Default_Ignorable_Code_Point": unicode.Other_Default_Ignorable_Code_Point,
		"Variation_Selector":                 unicode.Variation_Selector,
	} {
		eachRune(rt, func(r rune) {
			if drawn(r) {
				if err := ValidateText(string(r)); err != nil {
					t.Errorf("%s: ValidateText(%+q): %v, want it accepted (the mark is drawn)", name, string(r), err)
				}
				return
			}
			if got := CodeOf(ValidateText(string(r) + " ")); got != CodeEmptyText {
				t.Errorf("%s: ValidateText(%+q) code %q, want %q", name, string(r), got, CodeEmptyText)
			}
		})
	}
}

func eachRune(rt *unicode.RangeTable, fn func(rune)) {
	for _, rg := range rt.R16 {
		for r := rune(rg.Lo); r <= rune(rg.Hi); r += rune(rg.Stride) {
			fn(r)
		}
	}
	for _, rg := range rt.R32 {
		for r := rune(rg.Lo); r <= rune(rg.Hi); r += rune(rg.Stride) {
			fn(r)
		}
	}
}
