package domain

import (
	"reflect"
	"testing"
	"time"
)

// TestEchoCarriesEveryFieldOfTheSend fills every field of a MessageSent
// and checks that its echo gives it back (but Retry, a fact of the append,
// not of the message): a field added to MessageSent and not to
// MessageEcho fails here, instead of going missing from the sender's
// views when the echo is applied first (a replay).
func TestEchoCarriesEveryFieldOfTheSend(t *testing.T) {
	var s MessageSent
	v := reflect.ValueOf(&s).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x" + v.Type().Field(i).Name)
		case reflect.Int:
			f.SetInt(int64(i + 1))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Struct:
			f.Set(reflect.ValueOf(time.Date(2026, 12, 7, 0, 0, i, 0, time.UTC)))
		default:
			t.Fatalf("MessageSent.%s: kind %s not covered by this test", v.Type().Field(i).Name, f.Kind())
		}
	}
	want := s
	want.Retry = false
	if got := EchoOf(s).Sent(); !reflect.DeepEqual(got, want) {
		t.Fatalf("EchoOf(s).Sent() = %+v, want %+v", got, want)
	}
}
