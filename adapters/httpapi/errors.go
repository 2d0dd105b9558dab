package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tidings-chat/tidings/domain"
)

// statusOf maps each client-facing code to its HTTP status.
var statusOf = map[domain.Code]int{
	domain.CodeMalformedJSON:        http.StatusBadRequest,
	domain.CodeUnknownField:         http.StatusBadRequest,
	domain.CodeInvalidField:         http.StatusBadRequest,
	domain.CodeMissingField:         http.StatusBadRequest,
	domain.CodeUnknownRecipient:     http.StatusBadRequest,
	domain.CodeEmptyText:            http.StatusBadRequest,
	domain.CodeTextTooLong:          http.StatusBadRequest,
	domain.CodeInvalidUTF8:          http.StatusBadRequest,
	domain.CodeInvalidName:          http.StatusBadRequest,
	domain.CodeInvalidPassword:      http.StatusBadRequest,
	domain.CodeInvalidCursor:        http.StatusBadRequest,
	domain.CodeInvalidLimit:         http.StatusBadRequest,
	domain.CodeInvalidPosition:      http.StatusBadRequest,
	domain.CodeNameTaken:            http.StatusConflict,
	domain.CodeIdempotencyConflict:  http.StatusConflict,
	domain.CodeUnauthorized:         http.StatusUnauthorized,
	domain.CodeInvalidCredentials:   http.StatusUnauthorized,
	domain.CodeRegistrationClosed:   http.StatusForbidden,
	domain.CodeForbidden:            http.StatusForbidden,
	domain.CodeNotFound:             http.StatusNotFound,
	domain.CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	domain.CodeBodyTooLarge:         http.StatusRequestEntityTooLarge,
	domain.CodeHeadersTooLarge:      http.StatusRequestHeaderFieldsTooLarge,
	domain.CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	domain.CodeRateLimited:          http.StatusTooManyRequests,
	domain.CodeUnavailable:          http.StatusServiceUnavailable,
	domain.CodeInternal:             http.StatusInternalServerError,
	// Edits and deletes.
	domain.CodeMessageDeleted:     http.StatusConflict,
	domain.CodeEditWindowClosed:   http.StatusConflict,
	domain.CodeDeleteWindowClosed: http.StatusConflict,
	domain.CodeInvalidReplyTo:     http.StatusBadRequest,
	domain.CodeInvalidEmoji:       http.StatusBadRequest,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    domain.Code `json:"code"`
	Message string      `json:"message"`
}

// writeError answers with err as a JSON error. Errors that are not client
// errors are logged (they never hold message text) and shown as "internal".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	de, internal := domain.ClientError(err)
	if internal {
		s.log.Error("request failed", "method", r.Method, "route", routeOf(r), "err", err)
	}
	status, ok := statusOf[de.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if de.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(de.RetryAfter.Seconds())))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tidings"`)
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Code: de.Code, Message: de.Message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if err := jsonEncode(w, v); err != nil {
		slog.Debug("write response", "err", err)
	}
}
