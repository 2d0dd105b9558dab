// Package ws pushes messages and receipts to connected devices over
// WebSocket and takes commands (send, ack, read) from them. Hub is a
// projections.Listener: it pushes an event only after the views hold it;
// every process tails the log, so pushes reach connections on any node.
// Typing indicators and presence are ephemeral frames (ephemeral.go,
// typing.go, presence.go) carried between nodes by a Relay, never by the
// log. docs/websocket.md is the protocol.
package ws
