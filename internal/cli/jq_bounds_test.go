//go:build unix

package cli

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// jqBinary starts the built pi with args against the --jq tests' fake API and returns it
// with its stdout; stderr goes to errOut.
func jqBinary(t *testing.T, srv *httptest.Server, errOut io.Writer, args ...string) (*exec.Cmd, io.Reader) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(piBinary(t), args...)
	cmd.Env = append(os.Environ(), "PI_BASE_URL="+srv.URL, "PI_API_KEY=pi_test_jq_key_123456",
		"XDG_STATE_HOME="+filepath.Join(dir, "state"), "XDG_CONFIG_HOME="+dir, "GITHUB_ACTIONS=")
	cmd.Stderr = errOut
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, out
}

// waitExit waits for cmd (a hang guard, not a timing assertion) and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, out io.Reader, guard time.Duration) int {
	t.Helper()
	go io.Copy(io.Discard, out)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(guard):
		cmd.Process.Kill()
		<-done
		t.Fatalf("pi %v did not end within %s", cmd.Args[1:], guard)
	}
	return cmd.ProcessState.ExitCode()
}

// A filter that never ends streams what it produces (the first line arrives while it
// runs) and ends on SIGINT or SIGTERM with exit 130, whatever the command.
func TestJQEndlessFilterStreamsAndStopsOnSignal(t *testing.T) {
	srv, _ := jqAPI(t)
	for _, tt := range []struct {
		name string
		sig  syscall.Signal
		args []string
	}{
		{"actions range SIGINT", syscall.SIGINT, []string{"actions", "-o", "json", "--jq", "range(1e9)"}},
		{"runs get repeat SIGINT", syscall.SIGINT, []string{"runs", "get", jqRunID, "-o", "json", "--jq", "repeat(.status)"}},
		{"runs get repeat SIGTERM", syscall.SIGTERM, []string{"runs", "get", jqRunID, "-o", "json", "--jq", "repeat(.status)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var errOut strings.Builder
			cmd, out := jqBinary(t, srv, &errOut, tt.args...)
			first := make(chan string, 1)
			br := bufio.NewReader(out)
			go func() {
				l, _ := br.ReadString('\n')
				first <- l
			}()
			select {
			case l := <-first:
				if l == "" {
					t.Fatalf("no output line; stderr: %s", errOut.String())
				}
			case <-time.After(20 * time.Second): // a hang guard
				t.Fatal("no line printed while the filter runs: results are not streamed")
			}
			cmd.Process.Signal(tt.sig)
			if code := waitExit(t, cmd, br, 10*time.Second); code != ExitInterrupted {
				t.Fatalf("exit %d after %v, want 130; stderr: %s", code, tt.sig, errOut.String())
			}
		})
	}
}

// The command's --timeout bounds the filter too: exit 5 when it passes.
func TestJQEndlessFilterEndsAtTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"req_pi_1","object":"run","status":"completed","data":{"id":"`+jqRunID+`","status":"completed","steps":[]}}`)
	}))
	defer srv.Close()
	var errOut strings.Builder
	start := time.Now()
	cmd, out := jqBinary(t, srv, &errOut, "runs", "get", jqRunID, "--wait", "--timeout", "1s", "-o", "json", "--jq", "repeat(.status)")
	if code := waitExit(t, cmd, out, 20*time.Second); code != ExitTimeout {
		t.Fatalf("exit %d, want 5; stderr: %s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "--timeout") {
		t.Errorf("stderr does not say the timeout passed: %s", errOut.String())
	}
	t.Logf("ended %s after start", time.Since(start).Round(time.Millisecond))
}
