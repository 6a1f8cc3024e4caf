package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// retryRun runs pipeline text with --local -o plain and returns its exit code and stderr
// (one line per attempt).
func retryRun(t *testing.T, text string, params ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"XDG_STATE_HOME": dir, "XDG_CONFIG_HOME": dir, "HOME": dir, "COUNTER": filepath.Join(dir, "count")}
	p := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", p, "--local", "-o", "plain"}
	for _, kv := range params {
		args = append(args, "-p", kv)
	}
	code, stdout, stderr := execute(t, env, args...)
	return code, stdout, stderr
}

// attemptsOf counts the attempts of step id that the plain lines show starting.
func attemptsOf(stderr, id string) int {
	return len(regexp.MustCompile(`(?m)  `+regexp.QuoteMeta(id)+`  processing  attempt \d+`).FindAllString(stderr, -1))
}

// TestShellRetry: a shell.run step with retry: runs again after a non-zero exit, each
// attempt shown, until it succeeds (a counter file makes it fail twice); without retry:
// a failed command runs once (pi never runs a command twice behind the user's back).
func TestShellRetry(t *testing.T) {
	const script = `n=$(cat "$COUNTER" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$COUNTER"; [ $n -ge 3 ] || { echo "try $n" >&2; exit 7; }; echo ok`
	step := func(retry string) string {
		return "steps:\n  - id: flaky\n    action: shell.run\n" + retry +
			"    input: { script: '" + script + "', env: { COUNTER: \"${params.counter}\" } }\n" +
			"params:\n  counter: x\n"
	}
	for _, tt := range []struct {
		name     string
		retry    string
		code     int
		attempts int
	}{
		{"retried until it succeeds", "    retry: { max_attempts: 3, backoff: 1ms }\n", 0, 3},
		{"attempts run out", "    retry: { max_attempts: 2, backoff: 1ms }\n", 1, 2},
		{"no retry block: once", "", 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			counter := filepath.Join(t.TempDir(), "count")
			code, stdout, stderr := retryRun(t, step(tt.retry), "counter="+counter)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tt.code, stdout, stderr)
			}
			if got := attemptsOf(stderr, "flaky"); got != tt.attempts {
				t.Errorf("%d attempts, want %d:\n%s", got, tt.attempts, stderr)
			}
			if tt.attempts > 1 && !strings.Contains(stderr, "retry 2/") || tt.attempts > 1 && !strings.Contains(stderr, "exited with status 7: try 1") {
				t.Errorf("the retry is not shown with its reason:\n%s", stderr)
			}
			b, _ := os.ReadFile(counter)
			if got := strings.TrimSpace(string(b)); got != fmt.Sprint(tt.attempts) {
				t.Errorf("the command ran %s times, want %d", got, tt.attempts)
			}
		})
	}
}

// TestHTTPRetry: http.request retries a 5xx and a connection error per the step's retry
// policy, each attempt shown, and never a 4xx.
func TestHTTPRetry(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flaky":
			if hits.Add(1) <= 2 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, "recovered")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there any more: connection refused
	step := func(url string) string {
		return "steps:\n  - id: call\n    action: http.request\n    retry: { max_attempts: 3, backoff: 1ms }\n    input: { url: \"" + url + "\" }\n"
	}
	for _, tt := range []struct {
		name     string
		url      string
		code     int
		attempts int
		why      string
	}{
		{"503 twice, then 200", srv.URL + "/flaky", 0, 3, "status 503"},
		{"404 is not retried", srv.URL + "/missing", 1, 1, "status 404"},
		{"connection refused is retried", closed.URL + "/hook", 1, 3, "connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := retryRun(t, step(tt.url))
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tt.code, stdout, stderr)
			}
			if got := attemptsOf(stderr, "call"); got != tt.attempts {
				t.Errorf("%d attempts, want %d:\n%s", got, tt.attempts, stderr)
			}
			if !strings.Contains(stderr, tt.why) {
				t.Errorf("stderr does not say %q:\n%s", tt.why, stderr)
			}
		})
	}
	if got := hits.Load(); got != 3 {
		t.Errorf("the flaky endpoint was called %d times, want 3", got)
	}
}
