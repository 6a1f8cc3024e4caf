package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
)

const remotePipeline = "steps:\n  - id: brand\n    action: brands.extract\n    input: { url: https://shop.example.com }\n"

// remoteFactory is a Factory whose API is url, with the key given.
func remoteFactory(t *testing.T, url, key string) (*Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := render.Test()
	// Its own records and step cache: every run is recorded, and a step paid for once is
	// reused by the next run of the same pipeline.
	state := t.TempDir()
	env := map[string]string{"PI_BASE_URL": url, "PI_API_KEY": key, "HOME": state,
		"XDG_STATE_HOME": filepath.Join(state, "state"), "XDG_CACHE_HOME": filepath.Join(state, "cache")}
	f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
	return f, out, errOut
}

// runWithin runs pi in-process and fails if it does not end within guard (a hang guard far
// above the bound under test, never a timing assertion).
func runWithin(t *testing.T, guard time.Duration, f *Factory, args ...string) int {
	t.Helper()
	done := make(chan int, 1)
	go func() { done <- Execute(context.Background(), f, args) }()
	select {
	case code := <-done:
		return code
	case <-time.After(guard):
		t.Fatalf("pi %s did not end within %s", strings.Join(args, " "), guard)
		return -1
	}
}

// --timeout bounds everything remote: a POST that never answers, a 429 asking to come back
// in 27 hours, and a GET that never answers while following (exit 5 each time).
func TestRemoteTimeoutBoundsEveryWait(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hold := func(r *http.Request) {
		io.Copy(io.Discard, r.Body) // the server notices the client leaving only once the body is read
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	var created atomic.Bool
	for _, tt := range []struct {
		name string
		h    http.HandlerFunc
		args []string
		want int
	}{
		{"POST never answers", func(w http.ResponseWriter, r *http.Request) { hold(r) }, []string{"run", "P", "--timeout", "300ms"}, ExitTimeout},
		{"GET never answers", func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.WriteHeader(202)
				w.Write([]byte(`{"id":"req_pi_1","data":{"run_id":"` + followID + `","status":"pending","steps":[{"id":"brand","status":"pending"}]}}`))
				created.Store(true)
				return
			}
			hold(r)
		}, []string{"run", "P", "--timeout", "300ms"}, ExitTimeout},
		{"runs get --wait, GET never answers", func(w http.ResponseWriter, r *http.Request) { hold(r) },
			[]string{"runs", "get", followID, "--wait", "--timeout", "300ms"}, ExitTimeout},
		{"429 Retry-After 27h", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "99999")
			w.WriteHeader(429)
		}, []string{"run", "P", "--timeout", "300ms"}, ExitAPI},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.h)
			defer srv.Close()
			file := writePipeline(t, t.TempDir(), remotePipeline)
			args := append([]string(nil), tt.args...)
			for i, a := range args {
				if a == "P" {
					args[i] = file
				}
			}
			f, _, errOut := remoteFactory(t, srv.URL, "pi_test_0123456789")
			if code := runWithin(t, 20*time.Second, f, args...); code != tt.want {
				t.Fatalf("exit %d, want %d:\n%s", code, tt.want, errOut)
			}
		})
	}
}

// A 2xx that is not a created run: exit 4 with the request id and the may-exist warning,
// never "✓ run completed" with an empty id or an empty --detach line.
func TestRemoteMalformedCreate(t *testing.T) {
	for _, body := range []string{"<html>hi</html>", `{"id":"req_pi_m","data":{}}`, `{"id":"req_pi_m"}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", "req_pi_m")
			w.WriteHeader(202)
			w.Write([]byte(body))
		}))
		file := writePipeline(t, t.TempDir(), remotePipeline)
		for _, extra := range [][]string{{"--detach"}, {"-o", "json"}, nil} {
			f, out, errOut := remoteFactory(t, srv.URL, "pi_test_0123456789")
			code := runWithin(t, 20*time.Second, f, append([]string{"run", file}, extra...)...)
			if code != ExitAPI || out.Len() != 0 || !strings.Contains(errOut.String(), "req_pi_m") ||
				!strings.Contains(errOut.String(), "the run may have been created") {
				t.Fatalf("body %q %v: exit %d, stdout %q, stderr:\n%s", body, extra, code, out, errOut)
			}
		}
		srv.Close()
	}
}
