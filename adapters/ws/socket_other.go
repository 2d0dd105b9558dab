//go:build !unix

package ws

// canPeek: on this platform a socket cannot wait for readability without
// a read buffer, so an idle connection blocks in Read holding a pooled
// read-ahead buffer.
const canPeek = false

func peekReady(uintptr) bool { return true }
