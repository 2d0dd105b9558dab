// Package commands turns client intentions into events: it validates each
// command against the domain rules and the command-side state (accounts and
// the send log), then appends the resulting immutable event to the event
// log. A command succeeds only once its event is durably appended. No
// command handler writes a view; views are built by package projections.
package commands
