package ws

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
)

// writeText frames a payload as RFC 6455 says for each length encoding.
func TestWriteTextFrames(t *testing.T) {
	tests := []struct {
		name   string
		length int
		header []byte
	}{
		{"empty", 0, []byte{0x81, 0}},
		{"7-bit length", 125, []byte{0x81, 125}},
		{"16-bit length", 126, []byte{0x81, 126, 0, 126}},
		{"16-bit length, largest", 0xffff, []byte{0x81, 126, 0xff, 0xff}},
		{"64-bit length", 0x10000, binary.BigEndian.AppendUint64([]byte{0x81, 127}, 0x10000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			s := newSock(a, nil)
			s.cork()
			payload := bytes.Repeat([]byte{'x'}, tc.length)
			if err := s.writeText(payload); err != nil {
				t.Fatal(err)
			}
			got := *s.wbuf
			if !bytes.Equal(got[:len(tc.header)], tc.header) || !bytes.Equal(got[len(tc.header):], payload) {
				t.Fatalf("frame starts % x (%d bytes), want header % x and the payload", got[:min(len(got), 12)], len(got), tc.header)
			}
		})
	}
}

// Once the library has written a Close frame, no text frame follows it.
func TestWriteTextRefusedAfterClose(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	s := newSock(a, nil)
	s.cork()
	if _, err := s.Write([]byte{0x88, 0x02, 0x03, 0xe8}); err != nil { // Close, 1000
		t.Fatal(err)
	}
	if err := s.writeText([]byte("late")); err != errCloseSent {
		t.Fatalf("writeText after a Close frame: %v, want errCloseSent", err)
	}
	if got := *s.wbuf; len(got) != 4 {
		t.Fatalf("%d bytes queued after the Close frame's 4", len(got))
	}
}
