package main

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// A small JSON object scanner for the frames and answers the tool reads
// on its hot path: it validates the whole document like json.Valid, but
// hands out each member as raw bytes without decoding it, so the client
// pays only for the few fields it uses (encoding/json decodes every field
// by reflection and copies the text, the sender, the times… of every
// message). Not safe for arbitrary nesting beyond maxDepth.

var errSyntax = errors.New("invalid JSON")

// maxDepth bounds nesting, as a guard against stack growth.
const maxDepth = 64

// eachField calls fn with the key and the raw value of each member of the
// JSON object b, in order (a repeated key comes twice), after checking
// that b is one valid JSON object with nothing after it. The key is raw
// too (no quotes; escaped says it holds escapes). fn's error stops the
// scan and is returned; b must not change while fn holds its slices.
func eachField(b []byte, fn func(key []byte, escaped bool, val []byte) error) error {
	i := skipWS(b, 0)
	end, err := scanObject(b, i, 0, fn)
	if err != nil {
		return err
	}
	if skipWS(b, end) != len(b) {
		return errSyntax
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanObject scans the object at b[i] and returns the index after it.
func scanObject(b []byte, i, depth int, fn func(key []byte, escaped bool, val []byte) error) (int, error) {
	if depth > maxDepth || i >= len(b) || b[i] != '{' {
		return 0, errSyntax
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errSyntax
		}
		kEnd, kEsc, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i+1 : kEnd-1]
		if i = skipWS(b, kEnd); i >= len(b) || b[i] != ':' {
			return 0, errSyntax
		}
		i = skipWS(b, i+1)
		vEnd, err := scanValue(b, i, depth+1)
		if err != nil {
			return 0, err
		}
		if fn != nil {
			if err := fn(key, kEsc, b[i:vEnd]); err != nil {
				return 0, err
			}
		}
		if i = skipWS(b, vEnd); i >= len(b) {
			return 0, errSyntax
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, errSyntax
		}
	}
}

// scanArray scans the array at b[i] and returns the index after it.
func scanArray(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errSyntax
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := scanValue(b, i, depth+1)
		if err != nil {
			return 0, err
		}
		if i = skipWS(b, end); i >= len(b) {
			return 0, errSyntax
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, errSyntax
		}
	}
}

// scanValue scans the value at b[i] and returns the index after it.
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{':
		return scanObject(b, i, depth, nil)
	case c == '[':
		return scanArray(b, i, depth)
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	}
	return 0, errSyntax
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func scanNumber(b []byte, i int) (int, error) {
	digits := func(i int) int {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return 0, errSyntax
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return 0, errSyntax
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return 0, errSyntax
		}
		i = j
	}
	return i, nil
}

// scanString scans the string at b[i] (b[i] == '"') and returns the index
// after its closing quote and whether it holds escapes.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			if j+1 >= len(b) {
				return 0, false, errSyntax
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if j+5 >= len(b) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					return 0, false, errSyntax
				}
				j += 5
			default:
				return 0, false, errSyntax
			}
		case c < 0x20:
			return 0, false, errSyntax
		}
	}
	return 0, false, errSyntax
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// errType is a member of the wrong JSON type for the field it fills.
var errType = errors.New("JSON value of the wrong type")

// rawString decodes a raw string value (null is "", and not ok); any other
// JSON type is errType. Strings without escapes cost one allocation.
func rawString(raw []byte) (s string, ok bool, err error) {
	switch {
	case len(raw) == 4 && string(raw) == "null":
		return "", false, nil
	case len(raw) < 2 || raw[0] != '"':
		return "", false, errType
	}
	inner := raw[1 : len(raw)-1]
	if !hasEscapeOrBadUTF8(inner) {
		return string(inner), true, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, err
	}
	return s, true, nil
}

// hasEscapeOrBadUTF8 says whether b needs encoding/json's unquoting: a
// backslash, or bytes that are not valid UTF-8 (which it replaces with
// U+FFFD).
func hasEscapeOrBadUTF8(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c == '\\' {
			return true
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return !ascii && !utf8.Valid(b)
}

// rawBool decodes true, false or null (false).
func rawBool(raw []byte) (bool, error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false", "null":
		return false, nil
	}
	return false, errType
}
