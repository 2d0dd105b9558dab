// Package contract holds the test suites that every adapter of a port must
// pass, embedded and real alike: the event log, the view store, and the
// accounts and send log. Each suite takes a constructor and runs the same
// tests against whatever it returns. Only tests import this package.
package contract
