package ws

import (
	"testing"
	"unicode/utf8"

	"github.com/tidings-chat/tidings/domain"
)

var scanFrameCases = []struct {
	name   string
	in     string
	scans  bool // scanFrame decodes it itself
	strict bool // DecodeStrict accepts it
}{
	{"send", `{"type":"send","ref":"s1","to":"U","text":"hi","client_msg_id":"c1"}`, true, true},
	{"read with spaces", " {\n\t\"type\" : \"read\" , \"ref\":\"r1\",\"id\":\"M\"\r\n} ", true, true},
	{"empty object", `{}`, true, true},
	{"empty strings", `{"type":"","text":""}`, true, true},
	{"unicode text", `{"type":"send","text":"héllo 👋"}`, true, true},
	{"escaped quote", `{"type":"send","text":"say \"hi\""}`, false, true},
	{"escaped unicode", `{"type":"send","text":"\u00e9"}`, false, true},
	{"key in another case", `{"Type":"send"}`, false, true},
	{"repeated key", `{"type":"send","type":"read"}`, false, true},
	{"null value", `{"type":null}`, false, true},
	{"number value", `{"type":1}`, false, false},
	{"unknown key", `{"type":"send","priority":"high"}`, false, false},
	{"trailing brace", `{"type":"send"}}`, false, false},
	{"trailing bracket", `{"type":"send"}]`, false, false},
	{"trailing comma", `{"type":"send",}`, false, false},
	{"missing colon", `{"type" "send"}`, false, false},
	{"cut short", `{"type":"se`, false, false},
	{"array", `["type","send"]`, false, false},
	{"empty", ``, false, false},
	{"raw newline in a string", "{\"text\":\"a\nb\"}", false, false},
}

// TestScanFrameAgreesWithStrict: whatever scanFrame accepts, DecodeStrict
// accepts with the same result; what it declines falls back to
// DecodeStrict, which keeps the final say.
func TestScanFrameAgreesWithStrict(t *testing.T) {
	for _, tc := range scanFrameCases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := scanFrame([]byte(tc.in))
			if ok != tc.scans {
				t.Fatalf("scanFrame ok = %v, want %v", ok, tc.scans)
			}
			var want clientFrame
			err := domain.DecodeStrict([]byte(tc.in), &want, "frame")
			if (err == nil) != tc.strict {
				t.Fatalf("DecodeStrict: %v, want accepted = %v", err, tc.strict)
			}
			if ok && got != want {
				t.Fatalf("scanFrame = %+v, DecodeStrict = %+v", got, want)
			}
		})
	}
}

func FuzzScanFrame(f *testing.F) {
	for _, tc := range scanFrameCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return
		}
		got, ok := scanFrame(b)
		if !ok {
			return
		}
		var want clientFrame
		if err := domain.DecodeStrict(b, &want, "frame"); err != nil {
			t.Fatalf("scanFrame accepted %q, DecodeStrict refuses it: %v", b, err)
		}
		if got != want {
			t.Fatalf("%q: scanFrame = %+v, DecodeStrict = %+v", b, got, want)
		}
	})
}
