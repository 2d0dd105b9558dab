package domain

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// JSONDecodeError turns an error of encoding/json decoding what the client
// sent (what: "request body", "frame") into a client error that says what
// was wrong in the client's terms, JSON kinds and field names, never Go
// types:
//
//   - a value of the wrong kind is invalid_field: `request body must be a
//     JSON object, not an array`, `field "to" must be a string, not a
//     number`;
//   - a field the target does not have (json.Decoder.DisallowUnknownFields)
//     is unknown_field: `unknown field "priority"`;
//   - anything else (bad syntax, a value cut short) is malformed_json,
//     with the byte offset when the decoder knows it. No part of the input
//     is quoted back.
func JSONDecodeError(what string, err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &typ):
		want, sent := jsonKind(typ.Type), sentKind(typ.Value)
		subject := what
		if typ.Field != "" {
			subject = "field " + quote(typ.Field)
		}
		if sent == "" || strings.HasSuffix(want, sent) { // "whole number" for "number 1.5"
			return Errorf(CodeInvalidField, "%s must be %s", subject, article(want))
		}
		return Errorf(CodeInvalidField, "%s must be %s, not %s", subject, article(want), article(sent))
	case errors.As(err, &syntax):
		return Errorf(CodeMalformedJSON, "%s is not valid JSON (error at byte %d)", what, syntax.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return Errorf(CodeUnknownField, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(CodeMalformedJSON, "%s is not valid JSON (it ends too soon)", what)
	case errors.Is(err, io.EOF):
		return Errorf(CodeMalformedJSON, "%s is empty; it must be a JSON object", what)
	}
	return Errorf(CodeMalformedJSON, "%s is not valid JSON", what)
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// jsonKind names the JSON kind that decodes into t.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "JSON value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "whole number"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct:
		return "JSON object"
	case reflect.Map:
		return "object"
	}
	return "JSON value"
}

// sentKind names the kind of a json.UnmarshalTypeError's Value ("array",
// "number 1.5", "bool", ...), without the value itself.
func sentKind(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "bool":
		return "boolean"
	case "string", "number", "array", "object":
		return kind
	}
	return ""
}

func article(kind string) string {
	switch kind[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + kind
	}
	return "a " + kind
}

// quote renders a field path as the client wrote it, in double quotes.
func quote(field string) string { return `"` + field + `"` }

// DecodeStrict decodes b, the whole of what a client sent (what names it:
// "request body", "frame"), into v the strict way every decoder of outside
// input shares: valid UTF-8 (encoding/json would silently turn invalid
// bytes into U+FFFD), no unknown fields, and exactly one JSON value with
// nothing but white space after it (`{...}}` and `{...}]` are refused).
// Its errors are JSONDecodeError's.
func DecodeStrict(b []byte, v any, what string) error {
	if !utf8.Valid(b) {
		return Errorf(CodeInvalidUTF8, "%s is not valid UTF-8", what)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return JSONDecodeError(what, err)
	}
	// JSON white space only: bytes.TrimSpace would also pass \v, \f and
	// Unicode spaces (U+0085, U+00A0), which no JSON text may hold.
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) > 0 {
		return Errorf(CodeMalformedJSON, "%s must hold one JSON value and nothing after it", what)
	}
	return nil
}
