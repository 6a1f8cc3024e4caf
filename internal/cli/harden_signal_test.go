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

// kill -9 of pi mid-step leaves nothing of the step running: no orphan finishes its work
// (the write after the sleep never happens), even one that left the process group. The
// sleeps are long so that a loaded machine cannot reach the writes before pi is killed;
// the test still ends as soon as the step's processes are gone.
func TestKill9LeavesNoRunningStep(t *testing.T) {
	bin := piBinary(t)
	dir := t.TempDir()
	mark := "pi-kill9-" + filepath.Base(dir)
	late := filepath.Join(dir, "late")
	file := writePipeline(t, dir, `steps:
  - id: slow
    action: shell.run
    input: {script: "(setsid sh -c 'sleep 20; echo escaped >> `+late+`' &); sleep 20; echo late >> `+late+`", env: {MARK: `+mark+`}}
`)
	cmd := exec.Command(bin, "run", file, "--local", "-o", "plain")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killMarked(t, mark) })
	buf := make([]byte, 4096)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "slow  processing") {
		n, err := stderr.Read(buf)
		if err != nil {
			t.Fatalf("pi ended before the step ran:\n%s", seen.String())
		}
		seen.Write(buf[:n])
	}
	for len(markedPIDs(mark)) < 3 { // the supervisor, the step's shell, its escaped child
		time.Sleep(10 * time.Millisecond) // polling the process table
	}
	cmd.Process.Kill()
	cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); len(markedPIDs(mark)) > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("after kill -9 of pi, step processes %v still run", markedPIDs(mark))
		}
		time.Sleep(10 * time.Millisecond) // polling the process table
	}
	if b, err := os.ReadFile(late); err == nil {
		t.Fatalf("an orphan of the killed pi finished its work: %q", b)
	}
}
