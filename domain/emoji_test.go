package domain

import "testing"

func TestValidateEmoji(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"👍", true},
		{"👍🏽", true},      // skin tone
		{"❤️", true},      // heart + VS16
		{"👩‍💻", true},     // ZWJ sequence
		{"👨‍👩‍👧‍👦", true}, // family: three joiners
		{"🇫🇷", true},      // flag: two regional indicators
		{"1️⃣", true},     // keycap
		{"#⃣", true},
		{"🏴󠁧󠁢󠁳󠁣󠁴󠁿", true}, // tag sequence (Scotland)
		{"", false},
		{"a", false},
		{"ok", false},
		{"👍👍", false}, // two emoji
		{"👍a", false},
		{"🇫", false},    // half a flag
		{"🇫🇷🇩🇪", false}, // two flags
		{"👩‍", false},   // dangling joiner
		{"\u200d👍", false},
		{"1", false},
		{"\xff", false},
		{"👩‍👩‍👩‍👩‍👩‍👩", false}, // over 10 code points / 32 bytes
	} {
		if err := ValidateEmoji(tc.s); (err == nil) != tc.ok {
			t.Errorf("ValidateEmoji(%q) = %v, want ok=%v", tc.s, err, tc.ok)
		} else if err != nil && CodeOf(err) != CodeInvalidEmoji {
			t.Errorf("ValidateEmoji(%q): code %s", tc.s, CodeOf(err))
		}
	}
}
