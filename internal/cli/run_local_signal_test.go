//go:build unix

package cli

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// TestLocalInterrupt builds pi, starts a local run of slow shell.run steps, sends SIGINT
// once a step is visibly processing, and checks exit 130, the record says cancelled and
// no child process (marked by a unique env value) is left.
func TestLocalInterrupt(t *testing.T) {
	bin := piBinary(t)
	dir := t.TempDir()
	mark := "pi-interrupt-" + filepath.Base(filepath.Dir(dir)) // unique to the test, unlike "001"
	file := writePipeline(t, dir, `steps:
  - id: a
    action: shell.run
    input: {script: "sleep 60; echo done", env: {MARK: `+mark+`}}
  - id: b
    action: shell.run
    input: {script: "sleep 60", env: {MARK: `+mark+`}}
`)
	cmd := exec.Command(bin, "run", file, "--local")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.Contains(sc.Text(), "processing") {
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		seen = append(seen, sc.Text())
	}
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != ExitInterrupted {
		t.Fatalf("exit %d (%v), want 130; output:\n%s", code, err, strings.Join(seen, "\n"))
	}
	r := storedRun(t, dir, "")
	if r.Status != run.Cancelled {
		t.Fatalf("stored status %s, want cancelled", r.Status)
	}
	// No process may still carry the mark in its environment.
	if pids := markedPIDs(mark); len(pids) > 0 {
		t.Errorf("child processes %v left running", pids)
		killMarked(t, mark)
	}
}
