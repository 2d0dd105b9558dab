//go:build unix

package ws

import "syscall"

// canPeek: this platform can wait for a socket to be readable without
// reading it.
const canPeek = true

// peekReady is a syscall.RawConn.Read callback: it reports whether the
// socket has a byte, an end of stream or an error to read, without taking
// it. It is false (wait) only when a read would block.
func peekReady(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
}
