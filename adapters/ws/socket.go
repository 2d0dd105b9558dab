package ws

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Buffer sizes of one connection's socket.
const (
	// readAhead is the size of the pooled buffer a socket borrows to read
	// client bytes into while they are being parsed.
	readAhead = 4 << 10
	// libReadBuf is the read buffer the WebSocket library is given. The
	// socket hands it one byte at a time (see sock.Read), so it never holds
	// bytes the library has not asked for.
	libReadBuf = 16
	// libWriteBuf is the write buffer the library is given: the largest
	// server control frame (2 header bytes, 125 payload bytes) fits, so each
	// control frame the library writes (pong, close) is one Write, which
	// writeRaw relies on.
	libWriteBuf = 128
	// maxPooledWrite is the largest corked buffer returned to the pool.
	maxPooledWrite = 2 * maxWrite
)

var (
	readBufs  = sync.Pool{New: func() any { b := make([]byte, readAhead); return &b }}
	writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, readAhead); return &b }}
)

// sock is the server's end of one upgraded connection, beneath the
// WebSocket library, arranged so that an idle connection holds no buffer:
//
//   - Reads borrow a pooled read-ahead buffer while client bytes wait to be
//     parsed and give it back once they are; a read that has to wait
//     waits for the client without holding any buffer and then reads in
//     the same step (one system call per wake, fillLocked), and skipPongs
//     takes the answers to the server's pings without the library.
//   - Writes made between cork and uncork are gathered in a pooled buffer
//     and go out in one write when uncork is called; other writes go out
//     at once.
//
// All methods are safe for concurrent use. The library reads from one
// goroutine at a time and only between frames hands over to skipPongs.
type sock struct {
	net.Conn
	raw syscall.RawConn // nil: the connection cannot wait for readability without a buffer

	rmu      sync.Mutex // guards the read-ahead buffer
	rbuf     *[]byte    // nil when empty
	pooled   bool       // rbuf came from readBufs
	pos, end int
	ahead    atomic.Int32 // end-pos, readable without the lock

	wmu       sync.Mutex
	corked    bool
	wbuf      *[]byte // nil unless corked
	closeSent bool    // the library wrote a Close frame: no data frame may follow
}

// newSock wraps a hijacked connection; pending are bytes the HTTP server
// had already read past the upgrade request.
func newSock(nc net.Conn, pending []byte) *sock {
	s := &sock{Conn: nc}
	if sc, ok := nc.(syscall.Conn); ok && canWaitRaw {
		if raw, err := sc.SyscallConn(); err == nil {
			s.raw = raw
		}
	}
	if len(pending) > 0 {
		b := make([]byte, len(pending))
		copy(b, pending)
		s.rbuf, s.end = &b, len(b)
		s.ahead.Store(int32(len(b)))
	}
	return s
}

// Read fills p from the read-ahead buffer, reading the connection into it
// when it is empty (once the connection is readable); a read of at least
// readAhead bytes goes straight into p. A p of at most libReadBuf bytes
// (the library's buffered reader filling its buffer) gets one byte, so
// that the library's buffer is empty whenever it is not reading.
func (s *sock) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) <= libReadBuf {
		p = p[:1]
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.rbuf == nil {
		if len(p) >= readAhead {
			return s.Conn.Read(p)
		}
		if err := s.fillLocked(); err != nil {
			return 0, err
		}
	}
	n := copy(p, (*s.rbuf)[s.pos:s.end])
	s.consumeLocked(n)
	return n, nil
}

// fillLocked reads what the connection has into the empty read-ahead
// buffer, waiting for it without the buffer: the library reads on after
// a control frame and may wait here for the next frame for as long as the
// connection stays idle. Where the socket can be waited on raw, the
// buffer is taken only for the read attempt that the runtime makes each
// time the socket becomes readable.
func (s *sock) fillLocked() error {
	var (
		b    *[]byte
		n    int
		rerr error
	)
	if s.raw == nil {
		b = readBufs.Get().(*[]byte)
		n, rerr = s.Conn.Read(*b)
	} else {
		err := s.raw.Read(func(fd uintptr) bool {
			b = readBufs.Get().(*[]byte)
			var wait bool
			n, rerr, wait = readReady(fd, *b)
			if wait {
				readBufs.Put(b)
				b = nil
			}
			return !wait
		})
		if err != nil {
			if b != nil {
				readBufs.Put(b)
			}
			return err
		}
	}
	if n == 0 {
		readBufs.Put(b)
		if rerr == nil {
			rerr = io.ErrNoProgress
		}
		return rerr
	}
	// An error that came with data is met again by the next read.
	s.rbuf, s.pooled, s.pos, s.end = b, true, 0, n
	s.ahead.Store(int32(n))
	return nil
}

// consumeLocked drops n bytes from the front of the read-ahead buffer and
// gives the buffer back once it is empty.
func (s *sock) consumeLocked(n int) {
	s.pos += n
	if s.pos == s.end {
		if s.pooled {
			readBufs.Put(s.rbuf)
		}
		s.rbuf, s.pooled, s.pos, s.end = nil, false, 0, 0
	}
	s.ahead.Store(int32(s.end - s.pos))
}

// skipPongs reads what the connection has, when nothing is buffered, and
// drops the complete pong frames at the front of it: answers to the
// server's pings are taken without waking the library's reader, which
// would then wait for the next frame deep in its own stack. With nothing
// buffered it waits for the client (fillLocked). Call it at a frame
// boundary: between two messages the library has read. It reports how many pongs it dropped and whether
// other bytes (or an error) wait for the library.
func (s *sock) skipPongs() (pongs int, more bool) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.rbuf == nil && s.fillLocked() != nil {
		return 0, true // the library's read meets the error
	}
	for s.rbuf != nil {
		// A client's pong: FIN and opcode 0xA, masked, at most 125 bytes,
		// then the 4-byte mask key and the payload.
		b := (*s.rbuf)[s.pos:s.end]
		if len(b) < 2 || b[0] != 0x8A || b[1]&0x80 == 0 || b[1]&0x7f > 125 || len(b) < 6+int(b[1]&0x7f) {
			return pongs, true
		}
		s.consumeLocked(6 + int(b[1]&0x7f))
		pongs++
	}
	return pongs, false
}

// writeRaw writes bytes that form whole frames of their own (the server's
// pings), now or, while corked, with the rest. The caller must not be
// writing a frame through the library at the same time: only the
// connection's writer, between two frames, calls it.
func (s *sock) writeRaw(p []byte) error {
	_, err := s.Write(p)
	return err
}

// cork starts gathering writes.
func (s *sock) cork() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.corked = true
	if s.wbuf == nil {
		s.wbuf = writeBufs.Get().(*[]byte)
	}
}

// uncork writes what was gathered since cork in one write, within timeout,
// and stops gathering.
func (s *sock) uncork(timeout time.Duration) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.corked = false
	b := s.wbuf
	s.wbuf = nil
	if b == nil || len(*b) == 0 {
		if b != nil {
			writeBufs.Put(b)
		}
		return nil
	}
	_ = s.Conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := s.Conn.Write(*b)
	_ = s.Conn.SetWriteDeadline(time.Time{})
	if cap(*b) <= maxPooledWrite {
		*b = (*b)[:0]
		writeBufs.Put(b)
	}
	return err
}

// Write sends p now, or gathers it while corked.
func (s *sock) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// The library writes only control frames here (data frames go through
	// writeText), each in one write that starts with its header.
	if len(p) > 0 && p[0] == 0x88 {
		s.closeSent = true
	}
	if s.corked {
		*s.wbuf = append(*s.wbuf, p...)
		return len(p), nil
	}
	return s.Conn.Write(p)
}

// errCloseSent: a data frame after the connection's Close frame (RFC 6455
// 5.5.1: nothing may follow it).
var errCloseSent = errors.New("websocket: close frame already sent")

// writeText writes payload as one unmasked, unfragmented text frame
// (RFC 6455 5.2) in a single write, so that nothing the library writes
// meanwhile (its pongs and closes, each also one write) can land inside
// it. The server's data frames take this path instead of the library's
// Write, whose per-frame locking and buffering were a tenth of the
// writer's CPU; compression is never negotiated (AcceptOptions leave it
// disabled), so a frame is its header and its bytes.
func (s *sock) writeText(payload []byte) error {
	var hdr [10]byte
	hdr[0] = 0x81 // FIN, opcode text
	n := 2
	switch l := len(payload); {
	case l < 126:
		hdr[1] = byte(l)
	case l <= 0xffff:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(l))
		n = 4
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(l))
		n = 10
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closeSent {
		return errCloseSent
	}
	if s.corked {
		*s.wbuf = append(append(*s.wbuf, hdr[:n]...), payload...)
		return nil
	}
	_, err := s.Conn.Write(append(hdr[:n:n], payload...))
	return err
}

// hijacker hands the WebSocket library a sock and small buffers instead of
// the HTTP server's connection and the 4 KiB buffered reader and writer
// net/http hijacks with it, which would stay for the connection's life.
type hijacker struct {
	http.ResponseWriter
	sock *sock
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	pending, _ := brw.Reader.Peek(brw.Reader.Buffered())
	h.sock = newSock(nc, pending)
	return h.sock, bufio.NewReadWriter(bufio.NewReaderSize(h.sock, libReadBuf), bufio.NewWriterSize(h.sock, libWriteBuf)), nil
}
