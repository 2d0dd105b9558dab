//go:build !unix

package ws

// canWaitRaw: on this platform a socket cannot wait for readability
// without a read buffer, so an idle connection blocks in Read holding a
// pooled read-ahead buffer.
const canWaitRaw = false

func readReady(uintptr, []byte) (int, error, bool) { return 0, nil, true }
