package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pi-cli/pi/internal/render"
)

// jqRunID is the run the --jq tests' fake API knows.
const jqRunID = "5b0c8f2e-1111-4222-8333-444455556666"

// jqAPI is a Pi API stand-in with one failed run; it counts the requests it gets.
func jqAPI(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"req_pi_1","object":"run","status":"completed","data":{"id":%q,"status":"failed",`+
			`"created_at":1795874042,"steps":[`+
			`{"id":"hero","action":"campaigns.generate","status":"completed","depends_on":[],"result":{"image_url":"https://img.test/a.png","seed":1795874042123}},`+
			`{"id":"bad","action":"campaigns.generate","status":"failed","depends_on":[],"error":"boom \u001b[31mred\u001b[0m\nsecond line"}]}}`, jqRunID)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// execute runs pi with args through the root command, as main does.
func execute(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := render.Test()
	getenv := func(k string) string { return env[k] }
	ios.SetGetenv(getenv)
	f := &Factory{IO: ios, Getenv: getenv}
	code = Execute(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

func TestJQ(t *testing.T) {
	srv, requests := jqAPI(t)
	dir := t.TempDir()
	env := map[string]string{"PI_BASE_URL": srv.URL, "PI_API_KEY": "pi_test_jq_key_123456",
		"XDG_STATE_HOME": dir, "XDG_CONFIG_HOME": dir, "HOME": dir}
	pipeline := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(pipeline, []byte("steps:\n  - id: a\n    action: brands.extract\n    input: { url: https://x.test }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // exact
		stderr   string // contained
		requests int32  // requests the command may make (-1: any)
	}{
		{"string raw", []string{"actions", "-o", "json", "--jq", ".[0].name"}, 0, "brands.extract\n", "", 0},
		{"one per line", []string{"actions", "-o", "json", "--jq", `.[] | select(.name | startswith("campaigns")) | .name`}, 0,
			"campaigns.edit\ncampaigns.generate\ncampaigns.localize_ad\n", "", 0},
		{"objects compact", []string{"actions", "-o", "json", "--jq", ".[0] | {name, job_type}"}, 0,
			`{"job_type":"brand_extraction","name":"brands.extract"}` + "\n", "", 0},
		{"no result", []string{"actions", "-o", "json", "--jq", "empty"}, 0, "", "", 0},
		{"validate", []string{"validate", "-o", "json", pipeline, "--jq", "length"}, 0, "0\n", "", 0},
		{"schema always JSON", []string{"schema", "--jq", ".properties | keys | join(\",\")"}, 0, "metadata,params,steps\n", "", 0},
		{"remote run, exit code kept", []string{"runs", "get", jqRunID, "-o", "json", "--jq", ".status"}, 1, "failed\n", "", -1},
		{"big numbers keep digits", []string{"runs", "get", jqRunID, "-o", "json", "--jq", ".steps[0].result.seed"}, 1, "1795874042123\n", "", -1},
		{"times in RFC 3339", []string{"runs", "get", jqRunID, "-o", "json", "--jq", ".created_at"}, 1, "2026-11-28T13:54:02Z\n", "", -1},
		{"controls escaped in raw strings", []string{"runs", "get", jqRunID, "-o", "json", "--jq", `.steps[] | select(.status == "failed") | .error`}, 1,
			"boom \\u001b[31mred\\u001b[0m\nsecond line\n", "", -1},
		{"images", []string{"runs", "get", jqRunID, "-o", "json", "--jq", `.steps[].result.image_url // empty`}, 1, "https://img.test/a.png\n", "", -1},
		{"bad expression: exit 2, nothing sent", []string{"runs", "get", jqRunID, "-o", "json", "--jq", ".steps[ | .id"}, 2, "", `--jq ".steps[ | .id"`, 0},
		{"unknown function", []string{"runs", "get", jqRunID, "-o", "json", "--jq", "nosuchfn(1)"}, 2, "", "nosuchfn", 0},
		{"needs -o json", []string{"runs", "get", jqRunID, "--jq", ".status"}, 2, "", "add -o json", 0},
		{"command without JSON", []string{"version", "--jq", "."}, 2, "", "prints no JSON", 0},
		{"runtime error keeps the exit code", []string{"actions", "-o", "json", "--jq", ".[0].name.x"}, 0, "", "--jq: expected an object", 0},
		{"runtime error keeps a failed run's exit code", []string{"runs", "get", jqRunID, "-o", "json", "--jq", ".status, .status.x"}, 1, "failed\n", "--jq: expected an object", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := requests.Load()
			code, stdout, stderr := execute(t, env, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.stderr)
			}
			if got := requests.Load() - before; tt.requests >= 0 && got != tt.requests {
				t.Errorf("%d requests, want %d", got, tt.requests)
			}
			if strings.Contains(stdout+stderr, env["PI_API_KEY"]) {
				t.Error("the API key appeared in the output")
			}
		})
	}
}

func TestJQStream(t *testing.T) {
	// -o jsonl: every line is filtered as it comes; a local run needs no API.
	dir := t.TempDir()
	env := map[string]string{"XDG_STATE_HOME": dir, "XDG_CONFIG_HOME": dir, "HOME": dir}
	p := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(p, []byte("steps:\n  - id: hello\n    action: shell.run\n    input: { command: [echo, hi] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := execute(t, env, "run", p, "--local", "-o", "jsonl", "--jq", `select(.step == "hello") | .status`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) < 2 || lines[len(lines)-1] != "completed" {
		t.Errorf("stdout %q: want the step's statuses, completed last", stdout)
	}
	// A stream that is not JSON is an error, not silence.
	code, _, stderr = execute(t, env, "actions", "-o", "table", "--jq", ".")
	if code != 2 || !strings.Contains(stderr, "-o json") {
		t.Errorf("table output with --jq: exit %d, %s", code, stderr)
	}
}

// What a filter prints is capped (here lowered to 1000 bytes): output stops at a whole
// line under the cap, stderr says so, and the command's own exit code stands.
func TestJQOutputCap(t *testing.T) {
	ios, _, out, errOut := render.Test()
	getenv := func(string) string { return "" }
	ios.SetGetenv(getenv)
	f := &Factory{IO: ios, Getenv: getenv, jqMaxOutput: 1000}
	code := Execute(context.Background(), f, []string{"actions", "-o", "json", "--jq", "range(1e9)"})
	if code != 0 {
		t.Errorf("exit %d, want 0 (the command succeeded); stderr %s", code, errOut)
	}
	if n := out.Len(); n > 1000 || n < 900 || !strings.HasSuffix(out.String(), "\n") {
		t.Errorf("stdout is %d bytes (ending %q), want whole lines up to 1000", n, out.String()[max(0, n-10):])
	}
	if !strings.Contains(errOut.String(), "output stopped at") {
		t.Errorf("stderr %q does not say the output was cut", errOut)
	}
}
