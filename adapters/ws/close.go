package ws

import "github.com/coder/websocket"

// Close codes the server sends. Codes 4000-4099 are tidings' own; they are
// part of the public protocol: add new ones, never reuse one. Each says
// whether the client should reconnect.
const (
	// CloseGoingAway (1001): the server is shutting down. Reconnect at once
	// (another node will take the connection), with jittered backoff.
	CloseGoingAway = websocket.StatusGoingAway
	// CloseMessageTooBig (1009): a client frame exceeded ReadLimit. A client
	// bug: reconnect, but do not send that frame again.
	CloseMessageTooBig = websocket.StatusMessageTooBig
	// CloseInternal (1011): the server failed. Reconnect with backoff.
	CloseInternal = websocket.StatusInternalError
	// ClosePingTimeout (4000): the client did not answer a ping in time.
	// Reconnect.
	ClosePingTimeout websocket.StatusCode = 4000
	// CloseSessionEnded (4001): the token the connection was opened with
	// was signed out, replaced or has expired. Do not reconnect with it:
	// sign in again (POST /sessions) for a new token.
	CloseSessionEnded websocket.StatusCode = 4001
	// CloseSlowConsumer (4008): the client read too slowly and its send
	// queue filled up; pushes were dropped. Reconnect, then catch up with
	// GET /messages.
	CloseSlowConsumer websocket.StatusCode = 4008
	// CloseTooManyConnections (4029): the user already has MaxConnsPerUser
	// connections. Do not reconnect right away: close another device's
	// connection, or retry after a backoff of at least 30 s.
	CloseTooManyConnections websocket.StatusCode = 4029
)
