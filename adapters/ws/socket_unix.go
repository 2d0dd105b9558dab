//go:build unix

package ws

import (
	"io"
	"syscall"
)

// canWaitRaw: this platform can wait for a socket to be readable without
// a buffer and then read it in the same step (readReady).
const canWaitRaw = true

// readReady is the body of a syscall.RawConn.Read callback: one
// non-blocking read of fd into p. wait is true when the read would block
// (nothing was read; the caller returns false so the runtime parks until
// the socket is readable). An end of stream is io.EOF.
func readReady(fd uintptr, p []byte) (n int, err error, wait bool) {
	for {
		n, err = syscall.Read(int(fd), p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			return 0, nil, true
		case err != nil:
			return 0, err, false
		case n == 0:
			return 0, io.EOF, false
		}
		return n, nil, false
	}
}
