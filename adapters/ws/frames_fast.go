package ws

// scanFrame decodes the frames clients send nearly always — one flat JSON
// object of known, lower-case keys, each once, with string values that
// hold no escapes — in one pass without reflection. It reports false for
// anything else (escapes, other value kinds, unknown or repeated keys,
// another case of a key, trailing bytes), and the caller then decodes with
// domain.DecodeStrict, which also says what is wrong. For every input it
// accepts it returns what DecodeStrict would (TestScanFrameAgreesWithStrict
// and the frame fuzz target hold it to that). b must be valid UTF-8.
func scanFrame(b []byte) (clientFrame, bool) {
	var f clientFrame
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return f, false
	}
	i = skipSpace(b, i+1)
	var seen uint8
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			key, j, ok := scanPlainString(b, i)
			if !ok {
				return f, false
			}
			i = skipSpace(b, j)
			if i >= len(b) || b[i] != ':' {
				return f, false
			}
			i = skipSpace(b, i+1)
			val, j, ok := scanPlainString(b, i)
			if !ok {
				return f, false
			}
			var field *string
			var bit uint8
			switch string(key) {
			case "type":
				field, bit = &f.Type, 1
			case "ref":
				field, bit = &f.Ref, 2
			case "id":
				field, bit = &f.ID, 4
			case "to":
				field, bit = &f.To, 8
			case "text":
				field, bit = &f.Text, 16
			case "client_msg_id":
				field, bit = &f.ClientMsgID, 32
			default:
				return f, false
			}
			if seen&bit != 0 {
				return f, false
			}
			seen |= bit
			*field = string(val)
			i = skipSpace(b, j)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return f, false
		}
	}
	if skipSpace(b, i) != len(b) {
		return f, false
	}
	return f, true
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanPlainString reads a JSON string at b[i] that holds no backslash and
// no control character, returning its contents and the index after it.
func scanPlainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, i, false
		}
	}
	return nil, i, false
}
