package domain

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code shown to clients. Codes are
// part of the public API: add new ones, never rename or reuse one.
type Code string

// Client-facing error codes. docs/api.md lists each with its HTTP status.
const (
	CodeMalformedJSON        Code = "malformed_json"
	CodeUnknownField         Code = "unknown_field"
	CodeInvalidField         Code = "invalid_field"
	CodeMissingField         Code = "missing_field"
	CodeUnknownRecipient     Code = "unknown_recipient"
	CodeEmptyText            Code = "empty_text"
	CodeTextTooLong          Code = "text_too_long"
	CodeInvalidUTF8          Code = "invalid_utf8"
	CodeInvalidName          Code = "invalid_name"
	CodeInvalidPassword      Code = "invalid_password"
	CodeNameTaken            Code = "name_taken"
	CodeIdempotencyConflict  Code = "idempotency_conflict"
	CodeInvalidCursor        Code = "invalid_cursor"
	CodeInvalidLimit         Code = "invalid_limit"
	CodeInvalidPosition      Code = "invalid_position"
	CodeUnauthorized         Code = "unauthorized"
	CodeInvalidCredentials   Code = "invalid_credentials"
	CodeNotFound             Code = "not_found"
	CodeMethodNotAllowed     Code = "method_not_allowed"
	CodeBodyTooLarge         Code = "body_too_large"
	CodeHeadersTooLarge      Code = "headers_too_large"
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeRegistrationClosed   Code = "registration_closed"
	CodeForbidden            Code = "forbidden"
	CodeRateLimited          Code = "rate_limited"
	CodeUnavailable          Code = "unavailable"
	CodeInternal             Code = "internal"
)

// Error is an error a client may see: a stable Code and a human message that
// never contains message text, tokens or other secrets.
type Error struct {
	Code    Code
	Message string
	// RetryAfter, when set, tells the client how long to wait before trying
	// again (rate limits).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Code of the first *Error in err's chain, or
// CodeInternal when there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, ErrNotFound) {
		return CodeNotFound
	}
	return CodeInternal
}

// ErrNotFound is returned by stores and queries when a thing does not exist
// or is not visible to the asking user; callers must not tell the two apart.
var ErrNotFound = errors.New("not found")

// ErrUnavailable marks a failure of a backend that is expected to pass
// (the event log is unreachable or did not acknowledge in time): clients
// are told 503 unavailable with a Retry-After, not 500. Adapters wrap their
// transient failures with it.
var ErrUnavailable = errors.New("backend unavailable")

// ClientError returns what a client may be told of err: its *Error, a
// not_found error for ErrNotFound, unavailable (with internal set, so it
// is logged) for ErrUnavailable, and otherwise a bare "internal error"
// with internal set, so the caller logs err (which never holds message
// text) and shows nothing of it.
func ClientError(err error) (e *Error, internal bool) {
	switch {
	case errors.As(err, &e):
		return e, false
	case errors.Is(err, ErrNotFound):
		return &Error{Code: CodeNotFound, Message: "not found"}, false
	case errors.Is(err, ErrUnavailable):
		// Logged like an internal error (an operator wants to know), told
		// to the client as what it is: try again shortly.
		return &Error{Code: CodeUnavailable, Message: "a backend is unavailable; retry shortly", RetryAfter: time.Second}, true
	}
	return &Error{Code: CodeInternal, Message: "internal error"}, true
}
