//go:build unix

package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SIGINT while pi waits out a server's Retry-After (here 27 hours, capped at 60 s): the
// built binary exits 130 at once, not 4 and not after the wait.
func TestInterruptDuringRetryAfterWait(t *testing.T) {
	bin := piBinary(t)
	asked := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "99999")
		w.WriteHeader(429)
		w.Write([]byte(`{"error":{"type":"rate_limit_error","code":"unkey_rate_limited","message":"slow down","request_id":"req_pi_r"}}`))
		asked <- struct{}{}
	}))
	defer srv.Close()
	dir := t.TempDir()
	file := writePipeline(t, dir, remotePipeline)
	for _, args := range [][]string{{"run", file}, {"runs", "get", followID, "--wait"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "PI_BASE_URL="+srv.URL, "PI_API_KEY=pi_test_0123456789", "XDG_STATE_HOME="+filepath.Join(dir, "state"))
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		<-asked // pi has its 429 and is waiting
		start := time.Now()
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second): // a hang guard: the wait itself is 60 s
			cmd.Process.Kill()
			t.Fatalf("pi %v did not stop on SIGINT", args)
		}
		if code := cmd.ProcessState.ExitCode(); code != ExitInterrupted {
			t.Fatalf("pi %v: exit %d after SIGINT, want 130:\n%s", args, code, out.String())
		}
		t.Logf("pi %v: exit 130 %s after SIGINT", args, time.Since(start).Round(time.Millisecond))
	}
}
