package actions

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/engine"
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

// A failed connection names the request once: "http.request: POST URL: dial tcp ...",
// not net/http's own `Post "URL": ` again after it; the error is still transient and
// still unwraps to the network error.
func TestHTTPRequestErrorNamesURLOnce(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // connection refused from now on
	url := srv.URL + "/hook"
	_, err := (&HTTP{}).Execute(context.Background(), engine.Request{Input: map[string]any{"url": url, "json": map[string]any{"a": 1}}})
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "http.request: POST "+url+": ") || strings.Count(msg, url) != 1 || strings.Contains(msg, `Post "`) {
		t.Errorf("error %q: want the method and URL once", msg)
	}
	var se *engine.StepError
	var op *net.OpError
	if !errors.As(err, &se) || !se.Transient || !errors.As(err, &op) {
		t.Errorf("error %q: want a transient step error wrapping the *net.OpError", msg)
	}
}
