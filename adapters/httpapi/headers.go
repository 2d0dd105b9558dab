package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/tidings-chat/tidings/domain"
)

// MaxHeaderBytes bounds a request's head: the request line, every header
// line and the blank line that ends them, in bytes as sent. A longer head
// is answered 431 headers_too_large (the JSON error) and the connection is
// closed.
const MaxHeaderBytes = 16 << 10

// ServerMaxHeaderBytes is the http.Server.MaxHeaderBytes that makes
// net/http enforce MaxHeaderBytes exactly: it reads up to MaxHeaderBytes
// plus 4096 bytes ("bufio slop", net/http's Server.initialReadLimitSize)
// before it gives up on a head. TestHeaderLimitIsExactAndJSON holds it to
// that.
const ServerMaxHeaderBytes = MaxHeaderBytes - 4096

// Listener wraps the listener an http.Server serves the API on, so that a
// head over the limit, which net/http refuses before any handler runs with
// a plain-text 431 of its own, is answered with the JSON error like every
// other. Use it with ServerMaxHeaderBytes:
//
//	srv := &http.Server{Handler: api, MaxHeaderBytes: httpapi.ServerMaxHeaderBytes}
//	srv.Serve(httpapi.Listener(ln))
//
// Its connections behave as ln's otherwise (also once hijacked).
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c}, nil
}

// netHTTPTooLarge is what net/http writes, in one Write on the raw
// connection, for a head over its limit (net/http's conn.serve).
const netHTTPTooLarge = "HTTP/1.1 431 Request Header Fields Too Large\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" +
	"431 Request Header Fields Too Large"

// jsonTooLarge is the answer conn writes instead.
var jsonTooLarge = func() []byte {
	body, _ := jsonBytes(errorBody{Error: errorDetail{Code: domain.CodeHeadersTooLarge, Message: tooLargeMessage}})
	return fmt.Appendf(nil, "HTTP/1.1 431 Request Header Fields Too Large\r\n"+
		"Content-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}()

var tooLargeMessage = fmt.Sprintf("request headers are larger than %d bytes", MaxHeaderBytes)

// conn is a connection of Listener.
type conn struct{ net.Conn }

// Write replaces net/http's plain-text 431 with jsonTooLarge; every other
// write goes through unchanged.
func (c *conn) Write(p []byte) (int, error) {
	if len(p) == len(netHTTPTooLarge) && string(p) == netHTTPTooLarge {
		if _, err := c.Conn.Write(jsonTooLarge); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// CloseWrite half-closes the connection when the underlying one can, as
// net/http does after an error answer so that the client reads it.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SyscallConn exposes the underlying connection's file descriptor, so
// code that waits for readability without a read buffer (the WebSocket
// reader of an idle connection) keeps working through the wrapper.
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// ReadFrom keeps the underlying connection's fast path (sendfile, splice).
func (c *conn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.Conn, r) }

// limitHeaders answers 431 to a request whose head is over MaxHeaderBytes.
// net/http enforces the limit as it reads a head from the connection (see
// ServerMaxHeaderBytes), except on bytes it had read ahead while serving
// the connection's previous request; this catches those. It counts the
// head as it was parsed, which is never more than the bytes sent.
func (s *Server) limitHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headSize(r) > MaxHeaderBytes {
			w.Header().Set("Connection", "close")
			s.writeError(w, r, domain.Errorf(domain.CodeHeadersTooLarge, "%s", tooLargeMessage))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// headSize is a lower bound of the bytes of r's head: "METHOD URI PROTO",
// "Name:value" lines (net/http trims the spaces around values) and the
// CRLFs.
func headSize(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	if r.Host != "" && r.RequestURI != "" && r.RequestURI[0] == '/' {
		n += len("Host:") + len(r.Host) + 2 // net/http moves Host out of Header
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 1 + len(v) + 2
		}
	}
	return n + 2
}
