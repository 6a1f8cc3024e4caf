//go:build unix

package cli

import (
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
	for len(markedPIDs(mark)) < 3 { // the step's shell, its sleep, the escaped shell (and its sleep)
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

// A read-only state directory or runs database is diagnosed as such, never as a damaged
// file to delete. As root (permissions do not bind root) pi runs as nobody.
func TestReadOnlyStateDiagnosed(t *testing.T) {
	bin := piBinary(t)
	dir, err := os.MkdirTemp("", "pi-ro-") // not t.TempDir: its parents are private to this user
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "b", "pi"), 0o755); os.RemoveAll(dir) })
	file := writePipeline(t, dir, "steps:\n  - id: a\n    action: shell.run\n    input: {command: [\"true\"]}\n")
	// b has a database made while writable.
	made := exec.Command(bin, "run", file, "--local", "-o", "plain")
	made.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "b"))
	if out, err := made.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	os.MkdirAll(filepath.Join(dir, "a", "pi"), 0o755)
	for _, p := range []string{dir, file, filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "b", "pi", "runs.db")} {
		os.Chmod(p, 0o755)
	}
	os.Chmod(filepath.Join(dir, "b", "pi", "runs.db"), 0o444)
	os.Chmod(filepath.Join(dir, "a", "pi"), 0o555)
	os.Chmod(filepath.Join(dir, "b", "pi"), 0o555)
	// A copy of pi that nobody may run (the test binary's directory is private).
	b, _ := os.ReadFile(bin)
	nobodyBin := filepath.Join(dir, "pi")
	os.WriteFile(nobodyBin, b, 0o755)
	for _, state := range []string{"a", "b"} {
		cmd := exec.Command(nobodyBin, "run", file, "--local", "-o", "plain")
		cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, state), "HOME="+dir)
		if os.Getuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "cannot be written") || strings.Contains(string(out), "delete") || strings.Contains(string(out), "unreadable") {
			t.Errorf("state %s read-only: exit %d\n%s", state, cmd.ProcessState.ExitCode(), out)
		}
	}
}
