package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/tidings-chat/tidings/domain"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// decodeJSON reads r's body strictly into v: JSON content type, at most
// MaxBodyBytes, no unknown fields, exactly one value.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return domain.Errorf(domain.CodeUnsupportedMediaType, "Content-Type must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return domain.Errorf(domain.CodeBodyTooLarge, "request body is larger than %d bytes", MaxBodyBytes)
		}
		return domain.Errorf(domain.CodeMalformedJSON, "cannot read request body")
	}
	return domain.DecodeStrict(body, v, "request body")
}

// jsonBytes is v as jsonEncode writes it.
func jsonBytes(v any) ([]byte, error) {
	var b bytes.Buffer
	err := jsonEncode(&b, v)
	return b.Bytes(), err
}

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return nil
}
