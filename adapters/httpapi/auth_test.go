package httpapi

import (
	"net/http"
	"testing"
)

func TestBearer(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"none", http.Header{}, ""},
		{"authorization", http.Header{"Authorization": {"Bearer tdg_abc"}}, "tdg_abc"},
		{"authorization any case", http.Header{"Authorization": {"bearer  tdg_abc "}}, "tdg_abc"},
		{"other scheme", http.Header{"Authorization": {"Basic dXNlcg=="}}, ""},
		{"subprotocol", http.Header{"Sec-Websocket-Protocol": {"tidings.v1, bearer.tdg_abc"}}, "tdg_abc"},
		{"subprotocol in its own header line", http.Header{"Sec-Websocket-Protocol": {"tidings.v1", "bearer.tdg_abc"}}, "tdg_abc"},
		{"subprotocol without token", http.Header{"Sec-Websocket-Protocol": {"tidings.v1"}}, ""},
		{"authorization wins", http.Header{"Authorization": {"Bearer tdg_a"}, "Sec-Websocket-Protocol": {"bearer.tdg_b"}}, "tdg_a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Header: tt.header}
			if got := bearer(r); got != tt.want {
				t.Fatalf("bearer() = %q, want %q", got, tt.want)
			}
		})
	}
}
