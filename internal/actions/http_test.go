package actions

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A body longer than MaxOutput is cut there, and the result says so with truncated: true,
// as shell.run's does; a body of exactly MaxOutput bytes is whole and says nothing.
func TestHTTPRequestTruncated(t *testing.T) {
	chunk := []byte(strings.Repeat("x", 32<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/endless": // never ends by itself: only the client closing stops it
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/exact":
			w.Write([]byte(strings.Repeat("y", MaxOutput)))
		case "/json-endless":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"a":"`))
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}
	}))
	defer srv.Close()
	tests := []struct {
		path      string
		truncated bool
	}{
		{"/endless", true},
		{"/json-endless", true},
		{"/exact", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := Local().Execute(context.Background(), req("http.request", map[string]any{"url": srv.URL + tt.path}))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := got["body"].(string)
			if len(body) != MaxOutput {
				t.Fatalf("body is %d bytes, want %d", len(body), MaxOutput)
			}
			if tr, _ := got["truncated"].(bool); tr != tt.truncated {
				t.Fatalf("truncated = %v, want %v", got["truncated"], tt.truncated)
			}
			if _, has := got["truncated"]; !tt.truncated && has {
				t.Fatalf("a whole body has a truncated key: %v", got["truncated"])
			}
		})
	}
}
