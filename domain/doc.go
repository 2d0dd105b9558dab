// Package domain holds tidings' value types, events and invariants: users,
// messages, their statuses and the immutable events that record what
// happened to them. It imports only the standard library.
package domain
