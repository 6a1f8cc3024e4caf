//go:build unix

package cli

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/sandbox"
	"github.com/pi-cli/pi/internal/store"
)

// TestResumeAfterKill: pi is killed with SIGKILL in the middle of a local run, so the record
// still says in_progress. --resume sees that its pi process is gone, keeps the completed
// step (not executed again), runs the rest, and the run keeps its id.
func TestResumeAfterKill(t *testing.T) {
	bin := piBinary(t)
	dir := t.TempDir()
	// t.TempDir's own name is "001" in every test: the parent's is unique to this one
	mark := "pi-crash-" + filepath.Base(filepath.Dir(dir))
	file := writePipeline(t, dir, `steps:
  - id: first
    action: shell.run
    input: {script: "echo ran >> first.count"}
  - id: slow
    action: shell.run
    depends_on: [first]
    # the first time it says it started (through the fifo) and hangs until pi is killed;
    # when resumed it finishes at once
    input: {script: "if [ -f again ]; then echo resumed; else touch again; echo > started; sleep 60; fi", env: {MARK: `+mark+`}}
  - id: last
    action: shell.run
    depends_on: [slow]
    input: {command: [echo, done]}
`)
	if err := syscall.Mkfifo(filepath.Join(dir, "started"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "XDG_STATE_HOME="+dir)
	cmd := exec.Command(bin, "run", file, "--local", "-o", "plain")
	cmd.Dir, cmd.Env = dir, env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killMarked(t, mark) }) // pi's children outlive a SIGKILL of pi
	sc := bufio.NewScanner(stderr)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.Contains(sc.Text(), "slow  processing") {
			break
		}
	}
	// The step's script, not only pi, has started: opening the fifo waits for its writer.
	if b, err := os.ReadFile(filepath.Join(dir, "started")); err != nil || len(b) == 0 {
		t.Fatalf("reading the step's start signal: %q, %v", b, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	r := storedRun(t, dir, "")
	if r.Status != run.InProgress || r.Step("first").Status != run.StepCompleted {
		t.Fatalf("after kill -9: run %s, first %s; want in_progress with first completed\n%s", r.Status, r.Step("first").Status, strings.Join(seen, "\n"))
	}
	killMarked(t, mark)

	// The records show the run as interrupted, and following it does not wait for an end
	// that will not come.
	list := exec.Command(bin, "runs", "list")
	list.Env = env
	if out, err := list.CombinedOutput(); err != nil || !strings.Contains(string(out), "interrupted") {
		t.Errorf("runs list (%v) does not show the run interrupted:\n%s", err, out)
	}
	get := exec.Command(bin, "runs", "get", r.ID, "--wait", "-o", "plain")
	get.Env = env
	out, _ := get.CombinedOutput()
	if get.ProcessState.ExitCode() != ExitRunFailed || !strings.Contains(string(out), "continue it with: pi run --resume "+r.ID) {
		t.Errorf("runs get --wait of the interrupted run: exit %d\n%s", get.ProcessState.ExitCode(), out)
	}
	if strings.Contains(string(out), "processing") || !strings.Contains(string(out), "○ interrupted") ||
		!strings.Contains(string(out), "run "+r.ID+" interrupted in ") {
		t.Errorf("runs get shows the killed run as still running:\n%s", out)
	}

	resume := exec.Command(bin, "run", "--resume", r.ID, "-o", "plain")
	resume.Dir, resume.Env = dir, env
	out, err = resume.CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "was interrupted (its pi process "+strconv.Itoa(cmd.Process.Pid)+" is gone)") {
		t.Errorf("resume does not say why it may go on:\n%s", out)
	}
	final := storedRun(t, dir, r.ID)
	if final.Status != run.Completed || final.Step("last").Status != run.StepCompleted {
		t.Fatalf("resumed run %s: %s, last %s\n%s", r.ID, final.Status, final.Step("last").Status, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "first.count")); strings.Count(string(b), "ran") != 1 {
		t.Fatalf("the completed step ran %d times, want once", strings.Count(string(b), "ran"))
	}
}

// A run whose pi process is still alive is not resumed: two engines would run its steps.
func TestResumeRefusesARunningRun(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	id := "0b5d4c1e-1111-4222-8333-444455556666"
	r := &run.Run{ID: id, Status: run.InProgress, Steps: []run.Step{{ID: "a", Action: "shell.run", Status: run.StepProcessing}}}
	// This test's own process stands for the pi still running the run.
	err = st.Create(context.Background(), store.Record{Run: r, File: "p.yaml", Pipeline: []byte("steps: [{id: a, action: shell.run, input: {command: [true]}}]"), Owner: store.Self()})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := render.Test()
	f := &Factory{IO: ios, Getenv: func(k string) string {
		if k == "XDG_STATE_HOME" {
			return dir
		}
		return ""
	}}
	code := Execute(context.Background(), f, []string{"run", "--resume", id})
	if code != ExitUsage || !strings.Contains(errOut.String(), "is still running (pi process "+strconv.Itoa(os.Getpid())+")") {
		t.Fatalf("exit %d, stderr %q; want 2 and the running process named", code, errOut)
	}
}

// A Pi step interrupted while its job ran is resumed by waiting for that job, not by
// starting (and paying for) another.
func TestResumeReattachesPiJob(t *testing.T) {
	ctx := context.Background()
	inst, err := sandbox.Start(ctx, sandbox.Options{DBPath: ":memory:", Latency: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	c, err := piapi.New(piapi.Config{BaseURL: inst.URL, APIKey: inst.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.CreateJob(ctx, "brands.extract", map[string]any{"url": "https://shop.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// The pi that ran the step is gone: a process that has exited stands for it.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	id := "0b5d4c1e-1111-4222-8333-444455556666"
	host, _ := os.Hostname()
	err = st.Create(ctx, store.Record{
		Run: &run.Run{ID: id, Status: run.InProgress, Steps: []run.Step{
			{ID: "brand", Action: "brands.extract", Status: run.StepProcessing, JobID: job, Attempts: 1},
		}},
		File:     "p.yaml",
		Pipeline: []byte("steps:\n  - id: brand\n    action: brands.extract\n    input: { url: https://shop.example.com }\n"),
		Owner:    store.Owner{Host: host, PID: gone.Process.Pid},
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := render.Test()
	env := map[string]string{"XDG_STATE_HOME": dir, "PI_BASE_URL": inst.URL, "PI_API_KEY": inst.APIKey}
	f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
	if code := Execute(ctx, f, []string{"run", "--resume", id, "-o", "json"}); code != 0 {
		t.Fatalf("resume exit %d:\n%s", code, errOut)
	}
	if got := storedRun(t, dir, id).Step("brand"); got.Status != run.StepCompleted || got.JobID != job || got.Result["job_id"] != job {
		t.Fatalf("brand = %+v; want completed by the job %s it had started", got, job)
	}
}

// markedPIDs lists the processes whose environment carries MARK=mark (the children of a
// pi under test: they carry the mark through shell.run's env).
func markedPIDs(mark string) []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), "MARK="+mark) {
			if pid, err := strconv.Atoi(strings.Split(p, "/")[2]); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// killMarked kills the processes markedPIDs finds.
func killMarked(t *testing.T, mark string) {
	for _, pid := range markedPIDs(mark) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
