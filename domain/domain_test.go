package domain

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestValidateText(t *testing.T) {
	tests := []struct {
		name string
		text string
		code Code // "" for valid
	}{
		{"plain", "hello", ""},
		{"emoji and accents", "héllo 👋", ""},
		{"empty", "", CodeEmptyText},
		{"only white space", " \t\n\u00a0", CodeEmptyText},
		{"invalid utf-8", "ab\xffcd", CodeInvalidUTF8},
		{"at the limit", strings.Repeat("é", MaxTextRunes), ""},
		{"over the limit", strings.Repeat("a", MaxTextRunes+1), CodeTextTooLong},
		{"U+FFFF, the sealed-text mark", "\uffffs1:AAAA", CodeInvalidField},
		{"U+FFFF inside", "hi \uffff there", CodeInvalidField},
		{"U+FFFD is a character", "hi \ufffd", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateText(tc.text)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("ValidateText: %v", err)
				}
				return
			}
			if got := CodeOf(err); got != tc.code {
				t.Fatalf("code %q, want %q (err %v)", got, tc.code, err)
			}
		})
	}
}

func TestValidateStoredText(t *testing.T) {
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"plain text", "hello", true},
		{"plain text breaking the rules", " ", false},
		{"sealed", "\uffff1QUJDRA", true},
		{"sealed, no version", "\uffffQUJD", false},
		{"sealed, bad character", "\uffff1QU JD", false},
		{"sealed, padding", "\uffff1QUI=", false},
		{"sealed, nothing after the version", "\uffff1", false},
		{"sealed, too long", "\uffff1" + strings.Repeat("A", MaxSealedLen), false},
	}
	for _, tc := range tests {
		if err := ValidateStoredText(tc.text); (err == nil) != tc.ok {
			t.Errorf("%s: ValidateStoredText: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name  string
		valid bool
	}{
		{"alice", true}, {"a", true}, {"bob.smith-2_x", true}, {strings.Repeat("a", MaxNameLen), true},
		{"", false}, {strings.Repeat("a", MaxNameLen+1), false}, {"Alice", false}, {"-bob", false},
		{"al ice", false}, {"ålice", false}, {"a/b", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateName(tc.name)
			if (err == nil) != tc.valid {
				t.Fatalf("ValidateName(%q) = %v, want valid=%v", tc.name, err, tc.valid)
			}
			if err != nil && CodeOf(err) != CodeInvalidName {
				t.Fatalf("code %q", CodeOf(err))
			}
		})
	}
}

func TestValidateClientMsgID(t *testing.T) {
	for _, tc := range []struct {
		id    string
		valid bool
	}{{"", true}, {"c-1", true}, {strings.Repeat("x", MaxClientMsgIDLen), true},
		{strings.Repeat("x", MaxClientMsgIDLen+1), false}, {"has space", false}, {"tab\t", false}, {"é", false}} {
		if err := ValidateClientMsgID(tc.id); (err == nil) != tc.valid {
			t.Errorf("ValidateClientMsgID(%q) = %v, want valid=%v", tc.id, err, tc.valid)
		}
	}
}

func TestNewIDSortsByTimeAndIsValid(t *testing.T) {
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	seen := map[string]bool{}
	for i := range 1000 {
		id := NewID(base.Add(time.Duration(i) * time.Millisecond))
		if !ValidID(id) {
			t.Fatalf("NewID made an invalid id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids made at increasing times do not sort in time order")
	}
	same := make([]string, 1000)
	for i := range same {
		same[i] = NewID(base)
	}
	for i := 1; i < len(same); i++ {
		if same[i] <= same[i-1] {
			t.Fatalf("ids made in one millisecond do not grow: %s after %s", same[i], same[i-1])
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("I", 26), "8" + strings.Repeat("0", 25), "../../../../etc/passwd0000"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestEventRoundTrip(t *testing.T) {
	at := time.Date(2026, 5, 1, 2, 3, 4, 5e6, time.UTC)
	events := []Event{
		MessageSent{ID: "01", From: "a", To: "b", Text: "hi \"there\" 👋", ClientMsgID: "c", SentAt: at},
		MessageSent{ID: "01", From: "a", To: "b", Text: "hi", ClientMsgID: "c", SentAt: at, Retry: true},
		MessageDelivered{ID: "01", From: "a", To: "b", SentAt: at, DeliveredAt: at.Add(time.Second)},
		MessageRead{ID: "01", From: "a", To: "b", SentAt: at, ReadAt: at.Add(2 * time.Second)},
		MessageReceipt{ID: "01", From: "b", To: "a", SentAt: at, Status: StatusRead, At: at.Add(2 * time.Second)},
	}
	for i, ev := range events {
		t.Run(fmt.Sprint(i, ev.Type()), func(t *testing.T) {
			b, err := MarshalEvent(ev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalEvent(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, ev) {
				t.Fatalf("round trip: got %#v, want %#v", got, ev)
			}
			if got.Key() != "b" {
				t.Fatalf("key %q, want b", got.Key())
			}
		})
	}
}

// TestSentWithoutRetryDecodes: a MessageSent written before the retry
// field existed decodes as a first copy.
func TestSentWithoutRetryDecodes(t *testing.T) {
	ev, err := UnmarshalEvent([]byte(`{"type":"MessageSent","v":1,"data":{"id":"01","from":"a","to":"b","text":"hi","client_msg_id":"c","sent_at":"2026-05-01T02:03:04.005Z"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := ev.(MessageSent); !ok || s.Retry || s.ClientMsgID != "c" {
		t.Fatalf("decoded %#v", ev)
	}
	b, err := MarshalEvent(MessageSent{ID: "01", From: "a", To: "b", Text: "hi", SentAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "retry") {
		t.Fatalf("a first copy carries the retry field: %s", b)
	}
}

func TestUnmarshalEventRejectsUnknown(t *testing.T) {
	for name, in := range map[string]string{
		"unknown type":   `{"type":"MessageExploded","v":1,"data":{}}`, // MessageEdited exists since issue 12
		"future version": `{"type":"MessageSent","v":99,"data":{}}`,
		"no version":     `{"type":"MessageSent","data":{}}`,
		"not json":       `{`,
		"receipt status": `{"type":"MessageReceipt","v":1,"data":{"status":"sent"}}`,
	} {
		if _, err := UnmarshalEvent([]byte(in)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestPositionRoundTrip(t *testing.T) {
	p := Position{Partition: 7, Offset: 123456789}
	got, err := ParsePosition(p.String())
	if err != nil || got != p {
		t.Fatalf("ParsePosition(%q) = %v, %v", p.String(), got, err)
	}
	for _, good := range []Position{{0, 0}, {MaxPartition, MaxOffset}} {
		if got, err := ParsePosition(good.String()); err != nil || got != good {
			t.Errorf("ParsePosition(%q) = %v, %v", good.String(), got, err)
		}
	}
	if got, err := ParsePosition("3--1"); err != nil || got != (Position{Partition: 3, Offset: -1}) {
		t.Fatalf(`ParsePosition("3--1") = %v, %v`, got, err)
	}
	// Only the form String writes: no signs, no leading zeros, no spaces
	// (schemathesis sent "+1-2" and "01-2" and they were taken).
	for _, bad := range []string{"", "7", "-1-2", "a-1", "1-b", "1--2", "+1-2", "1-+2", "01-2", "1-02", "00-0",
		"1--01", "1--0", " 1-2", "1-2 ", "2147483648-0", "1000000000-0", "1-1000000000000000000",
		"1-9223372036854775807", "1-9223372036854775808", "1-2-3", "1_0-2"} {
		if _, err := ParsePosition(bad); err == nil {
			t.Errorf("ParsePosition(%q) accepted", bad)
		}
	}
}

func TestStatusOrderAndNames(t *testing.T) {
	if !(StatusSent < StatusDelivered && StatusDelivered < StatusRead) {
		t.Fatal("statuses are out of order")
	}
	for _, s := range []Status{StatusSent, StatusDelivered, StatusRead} {
		got, err := ParseStatus(s.String())
		if err != nil || got != s {
			t.Errorf("ParseStatus(%q) = %v, %v", s, got, err)
		}
	}
	if CodeOf(errors.New("x")) != CodeInternal || CodeOf(ErrNotFound) != CodeNotFound {
		t.Fatal("CodeOf of plain errors")
	}
}

func TestShardOfIsStableAndBalanced(t *testing.T) {
	// Golden values: the function is part of the storage format.
	for id, want := range map[UserID]int{"": 805, "alice": 263, "01M8B1QCVA63ES9FVWWAQTKA3Q": 1013} {
		if got := ShardOf(id); got != want {
			t.Errorf("ShardOf(%q) = %d, want %d", id, got, want)
		}
	}
	const users = 200_000
	counts := make([]int, VirtualShards)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range users {
		counts[ShardOf(UserID(NewID(base.Add(time.Duration(i)*time.Millisecond))))]++
	}
	mean := users / VirtualShards
	for s, n := range counts {
		// Within ±40% of the mean: 5.6 standard deviations at 195 users per
		// shard; the fullest of 1,024 shards is expected near +3.3.
		if n < mean*6/10 || n > mean*14/10 {
			t.Fatalf("shard %d has %d users; mean %d", s, n, mean)
		}
	}
	for _, n := range []int32{1, 7, 16} {
		for i := range 100 {
			u := UserID(NewID(base.Add(time.Duration(i) * time.Second)))
			if p := PartitionOf(u, n); p < 0 || p >= n || p != PartitionOf(u, n) {
				t.Fatalf("PartitionOf(%s, %d) = %d", u, n, p)
			}
		}
	}
}
