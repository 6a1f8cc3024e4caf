package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pi-cli/pi/internal/sandbox"
)

// scriptCommands are the extra commands testdata/script/*.txtar may use.
func scriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){}
	for name, cmd := range serveScriptCommands() {
		cmds[name] = cmd
	}
	for name, cmd := range localScriptCommands() {
		cmds[name] = cmd
	}
	cmds["sandbox"] = sandboxCmd
	cmds["jobs"] = jobsCmd
	cmds["fakeapi"] = fakeAPICmd
	cmds["httpserver"] = httpServerCmd
	return cmds
}

// fakeAPIRunID is the one run a fakeapi server knows.
const fakeAPIRunID = "0b5d4c1e-1111-4222-8333-444455556666"

// fakeAPICmd starts a Pi API stand-in whose one run (fakeAPIRunID, also what POST
// /api/v1/runs creates) is always in the given state ("fakeapi cancelled"): the states the
// simulated server cannot be made to produce on demand (the API has no cancel endpoint).
func fakeAPICmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: fakeapi STATUS")
	}
	status := args[0]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/runs":
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, `{"id":"req_pi_create","object":"run","status":"queued","created_at":1795874041,"data":{"run_id":%q,"status":"pending","steps":[{"id":"a","status":"pending"}]}}`, fakeAPIRunID)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/runs/"+fakeAPIRunID:
			stepStatus := map[string]string{"cancelled": "cancelled", "failed": "failed", "completed": "completed"}[status]
			if stepStatus == "" {
				stepStatus = "processing"
			}
			fmt.Fprintf(w, `{"id":"req_pi_get","object":"run","status":"completed","created_at":1795874042,"data":{"id":%q,"org_id":"0f0e0d0c-0b0a-4999-8888-777766665555","status":%q,"metadata":null,"created_at":1795874042,"updated_at":1795874050,"steps":[{"id":"a","action":"brands.extract","status":%q,"depends_on":[],"job_id":null,"result":null,"error":null,"started_at":1795874042,"completed_at":null}]}}`, fakeAPIRunID, status, stepStatus)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"run_not_found","message":"Run not found.","request_id":"req_pi_404"}}`)
		}
	}))
	ts.Defer(srv.Close)
	ts.Setenv("PI_BASE_URL", srv.URL)
	ts.Setenv("PI_API_KEY", "pi_test_fakeapi_key")
}

// sandboxCmd starts the simulated Pi API in-process for the script and points
// PI_BASE_URL/PI_API_KEY at it; it stops when the script ends.
// Usage: sandbox [LATENCY] [fail-first=N] [fail-rate=F]
func sandboxCmd(ts *testscript.TestScript, neg bool, args []string) {
	opts := sandbox.Options{Latency: 20 * time.Millisecond, DBPath: ":memory:"}
	for _, a := range args {
		var err error
		switch k, v, _ := strings.Cut(a, "="); k {
		case "fail-first":
			opts.FailFirst, err = strconv.Atoi(v)
		case "fail-rate":
			opts.FailRate, err = strconv.ParseFloat(v, 64)
		default:
			opts.Latency, err = time.ParseDuration(a)
		}
		ts.Check(err)
	}
	inst, err := sandbox.Start(context.Background(), opts)
	ts.Check(err)
	ts.Defer(func() { inst.Close() })
	ts.Setenv("PI_BASE_URL", inst.URL)
	ts.Setenv("PI_API_KEY", inst.APIKey)
}

// httpServerCmd starts a small HTTP server for http.request steps and sets HTTP_URL:
// /json answers a JSON object, /text plain text, /status/N status N, and /flaky 503 with
// Retry-After: 0 on its first request, then 200.
func httpServerCmd(ts *testscript.TestScript, neg bool, args []string) {
	var flaky atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"ok": true, "method": %q}`, r.Method)
		case r.URL.Path == "/text":
			fmt.Fprint(w, "plain words")
		case strings.HasPrefix(r.URL.Path, "/status/"):
			code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
			w.WriteHeader(code)
		case r.URL.Path == "/flaky":
			if flaky.Add(1) == 1 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, "recovered")
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	ts.Defer(srv.Close)
	ts.Setenv("HTTP_URL", srv.URL)
}
