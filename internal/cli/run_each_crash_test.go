//go:build unix

package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pi-cli/pi/internal/batch"
	"github.com/pi-cli/pi/internal/store"
)

// A batch of 20 rows whose pi is killed (SIGKILL) or interrupted (SIGINT, as Ctrl-C) after
// 8 rows completed, while the 9th runs: the ledger holds 8 completed rows, and pi run
// --resume BATCH_ID runs the other 12 (the 9th again), each once, and none of the 8.
// Interrupted, pi stops the 9th row's run (recorded interrupted, its processes gone),
// starts no other, says how to continue and exits 130.
func TestEachResumeAfterKill(t *testing.T) {
	t.Run("kill -9", func(t *testing.T) { testEachStopped(t, false) })
	t.Run("Ctrl-C", func(t *testing.T) { testEachStopped(t, true) })
}

func testEachStopped(t *testing.T, interrupt bool) {
	bin := piBinary(t)
	dir := t.TempDir()
	mark := "pi-each-crash-" + filepath.Base(filepath.Dir(dir))
	// Row 9 says it started (through the fifo) and hangs until pi is killed; run again,
	// it ends at once.
	writePipeline(t, dir, `params:
  n: "0"
steps:
  - id: work
    action: shell.run
    retry: {max_attempts: 1}
    input:
      script: "echo ${params.n} >> ran.log; if [ ${params.n} = 9 ] && [ ! -f again ]; then touch again; echo > started; sleep 60; fi"
      env: {MARK: `+mark+`}
`)
	var rows strings.Builder
	rows.WriteString("n\n")
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&rows, "%d\n", i)
	}
	writeFile(t, dir, "rows.csv", rows.String())
	if err := syscall.Mkfifo(filepath.Join(dir, "started"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "XDG_STATE_HOME="+dir, "XDG_CACHE_HOME="+dir)
	cmd := exec.Command(bin, "run", "p.yaml", "--local", "--each", "rows.csv", "--max-parallel", "1")
	cmd.Dir, cmd.Env = dir, env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killMarked(t, mark) })
	sc := bufio.NewScanner(stderr)
	id := ""
	for id == "" && sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "batch "); ok {
			id, _, _ = strings.Cut(rest, " ")
		}
	}
	if id == "" {
		cmd.Process.Kill()
		t.Fatal("pi did not say the batch's id")
	}
	// Row 9's script, not only pi, has started: opening the fifo waits for its writer.
	if b, err := os.ReadFile(filepath.Join(dir, "started")); err != nil || len(b) == 0 {
		t.Fatalf("reading row 9's start signal: %q, %v", b, err)
	}
	if interrupt {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
	} else if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
	}
	cmd.Wait()
	if interrupt {
		if code := cmd.ProcessState.ExitCode(); code != ExitInterrupted {
			t.Errorf("exit %d after SIGINT, want 130", code)
		}
		if !strings.Contains(strings.Join(seen, "\n"), "interrupted: batch "+id+" has 12 rows not completed; continue it with 'pi run --resume "+id+"'") {
			t.Errorf("the interrupted batch does not say how to continue:\n%s", strings.Join(seen, "\n"))
		}
		if pids := markedPIDs(mark); len(pids) > 0 {
			t.Errorf("row 9's processes %v are left running", pids)
		}
	}
	killMarked(t, mark)

	st, err := store.Open(context.Background(), filepath.Join(dir, "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, ledger, err := st.GetBatch(context.Background(), id)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if left := batch.ToResume(ledger, false); len(left) != 12 || left[0] != 8 {
		t.Fatalf("after the stop the ledger leaves rows %v to resume, want the 12 from row 9", left)
	}
	if want := map[bool]batch.Status{false: batch.Running, true: batch.Interrupted}[interrupt]; batch.Status(ledger[8].Status) != want || ledger[9].Status != string(batch.Pending) {
		t.Fatalf("rows 9 and 10 in the ledger: %s and %s, want %s and pending", ledger[8].Status, ledger[9].Status, want)
	}
	row9 := ledger[8].RunID // recorded when its run started, before the stop
	if row9 == "" {
		t.Fatal("the ledger does not name row 9's run")
	}

	resume := exec.Command(bin, "run", "--resume", id, "-o", "plain")
	resume.Dir, resume.Env = dir, env
	out, err := resume.CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "12 of its 20 rows not completed run again") || !strings.Contains(string(out), "20 completed (exit 0)") {
		t.Errorf("the resume does not say what it ran:\n%s", out)
	}
	// Row 9's run was resumed (the same run, its record completed), not run anew.
	if r := storedRun(t, dir, row9); r.Status != "completed" {
		t.Errorf("row 9's run %s after the resume: %s", row9, r.Status)
	}
	if !strings.Contains(string(out), "run "+row9) {
		t.Errorf("the summary does not show row 9's run %s:\n%s", row9, out)
	}
	ran := ranRows(t, dir)
	for i := 1; i <= 20; i++ {
		want := 1
		if i == 9 {
			want = 2 // cut off by the kill, then run again
		}
		if ran[fmt.Sprint(i)] != want {
			t.Fatalf("row %d ran %d times, want %d (all: %v)\n%s", i, ran[fmt.Sprint(i)], want, ran, out)
		}
	}
}
