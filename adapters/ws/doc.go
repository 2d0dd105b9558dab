// Package ws pushes messages and receipts to connected devices over
// WebSocket and takes commands (send, ack, read) from them. Hub is a
// projections.Listener: it pushes an event only after the views hold it.
// It knows only the connections of this process (single node); fan-out
// across processes is not done yet. docs/websocket.md is the protocol.
package ws
