package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const echoedKey = "pi_live_s3cr3t0123456789"

// echoServer echoes the key in everything it says: errors, a failed job's error log, the
// body an http.request step fetches, and a run's step error.
func echoServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		esc := strings.Replace(key, "_", `\u005f`, 2)
		switch {
		case r.URL.Path == "/echo":
			fmt.Fprintf(w, "you said %s", echoedKey)
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/brands/extract":
			w.WriteHeader(202)
			fmt.Fprintf(w, `{"id":"req_pi_1","data":{"job_id":"0b5d4c1e-1111-4222-8333-444455556666"}}`)
		case strings.HasPrefix(r.URL.Path, "/api/v1/jobs/"):
			fmt.Fprintf(w, `{"id":"req_pi_2","data":{"id":"0b5d4c1e-1111-4222-8333-444455556666","type":"brand_extraction","status":"failed","error_log":"API key %s not found (%s)\nat line 2","payload":{"echo":"%s"}}}`, key, esc, key)
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/runs":
			w.Header().Set("X-Request-Id", "req_pi_"+key)
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"error":{"type":"authentication_error","code":"unkey_not_found","message":"API key %s not found","request_id":"req_pi_%s"}}`, key, esc)
		default:
			w.WriteHeader(404)
		}
	}))
}

// A server echoing the key never gets it into any output (every -o, --debug), error or
// run record.
func TestEchoedKeyNeverShownOrStored(t *testing.T) {
	srv := echoServer()
	defer srv.Close()
	dir := t.TempDir()
	local := writePipeline(t, dir, `steps:
  - id: brand
    action: brands.extract
    input: { url: https://shop.example.com }
    retry: { max_attempts: 1 }
  - id: fetch
    action: http.request
    input: { url: "`+srv.URL+`/echo" }
`)
	remote := filepath.Join(dir, "remote.yaml")
	os.WriteFile(remote, []byte(remotePipeline), 0o644)
	var all strings.Builder
	for _, args := range [][]string{
		{"run", local, "--local", "-o", "jsonl"},
		{"run", local, "--local", "-o", "json"},
		{"run", local, "--local", "-o", "plain", "--debug"},
		{"run", remote, "-o", "json", "--debug"},
		{"run", remote, "--detach"},
		{"runs", "list", "-o", "json"},
	} {
		f, out, errOut := remoteFactory(t, srv.URL, echoedKey)
		env := f.Getenv
		f.Getenv = func(k string) string {
			if k == "XDG_STATE_HOME" {
				return dir
			}
			return env(k)
		}
		runWithin(t, 30*time.Second, f, args...)
		all.WriteString(out.String() + errOut.String())
	}
	if !strings.Contains(all.String(), "[redacted]") {
		t.Fatalf("the echoes were not seen at all:\n%s", all.String())
	}
	for _, leak := range []string{"s3cr3t0123456789", `s3cr3t`} {
		if strings.Contains(all.String(), leak) {
			t.Fatalf("output holds the key:\n%s", all.String())
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "pi", "*"))
	if len(files) == 0 {
		t.Fatal("no run records")
	}
	for _, p := range files {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "s3cr3t") {
			t.Fatalf("%s holds the key", p)
		}
	}
}
