package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

func localFactory(t *testing.T, state string) (*Factory, *strings.Builder) {
	t.Helper()
	ios, _, out, errOut := render.Test()
	_ = out
	f := &Factory{IO: ios, Getenv: func(k string) string {
		if k == "XDG_STATE_HOME" {
			return state
		}
		return ""
	}}
	sb := &strings.Builder{}
	t.Cleanup(func() { sb.WriteString(errOut.String()) })
	return f, sb
}

func writePipeline(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func storedRun(t *testing.T, state, id string) *run.Run {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(state, "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if id == "" {
		list, err := s.List(context.Background(), 1)
		if err != nil || len(list) == 0 {
			t.Fatalf("no runs: %v", err)
		}
		id = list[0].ID
	}
	rec, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Run
}

func TestLocalRun(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		timeout time.Duration
		code    int
		status  run.Status
		steps   map[string]run.StepStatus
	}{
		{"chain completes", "steps:\n  - id: a\n    action: shell.run\n    input: {script: 'echo {\"n\": 1}'}\n  - id: b\n    action: shell.run\n    depends_on: [a]\n    input: {command: [echo, hi]}\n",
			0, 0, run.Completed, map[string]run.StepStatus{"a": run.StepCompleted, "b": run.StepCompleted}},
		{"failure skips dependents", "steps:\n  - id: a\n    action: shell.run\n    input: {script: 'echo nope >&2; exit 1'}\n  - id: b\n    action: shell.run\n    depends_on: [a]\n    input: {command: [true]}\n",
			0, ExitRunFailed, run.Failed, map[string]run.StepStatus{"a": run.StepFailed, "b": run.StepSkipped}},
		{"timeout cancels", "steps:\n  - id: slow\n    action: shell.run\n    input: {script: 'sleep 30'}\n",
			200 * time.Millisecond, ExitTimeout, run.Cancelled, map[string]run.StepStatus{"slow": run.StepCancelled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f, _ := localFactory(t, dir)
			err := runRun(context.Background(), &runOptions{runDeps: f.runDeps(), Local: true, File: writePipeline(t, dir, tt.yaml), Timeout: tt.timeout})
			if got := exitCode(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d", got, err, tt.code)
			}
			r := storedRun(t, dir, "")
			if r.Status != tt.status {
				t.Fatalf("stored status %s, want %s", r.Status, tt.status)
			}
			for id, want := range tt.steps {
				if got := r.Step(id).Status; got != want {
					t.Fatalf("step %s: %s, want %s", id, got, want)
				}
			}
		})
	}
}

// Resume runs only what did not complete, keeps completed results and the run id.
func TestLocalResume(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ok")
	counter := filepath.Join(dir, "count")
	yaml := fmt.Sprintf(`steps:
  - id: a
    action: shell.run
    input: {script: "echo x >> %s; echo '{\"v\": 7}'"}
  - id: b
    action: shell.run
    depends_on: [a]
    input: {script: 'test -e %s'}
`, counter, marker)
	f, _ := localFactory(t, dir)
	if code := exitCode(runRun(context.Background(), &runOptions{runDeps: f.runDeps(), Local: true, File: writePipeline(t, dir, yaml)})); code != ExitRunFailed {
		t.Fatalf("first run exit %d", code)
	}
	first := storedRun(t, dir, "")
	os.WriteFile(marker, nil, 0o644)
	if err := runRun(context.Background(), &runOptions{runDeps: f.runDeps(), Local: true, Resume: first.ID}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	r := storedRun(t, dir, first.ID)
	if r.Status != run.Completed || r.Step("a").Result["v"] != 7.0 {
		t.Fatalf("resumed run %+v", r)
	}
	if b, _ := os.ReadFile(counter); strings.Count(string(b), "x") != 1 {
		t.Fatalf("step a ran %d times, want once", strings.Count(string(b), "x"))
	}
	if code := exitCode(runRun(context.Background(), &runOptions{runDeps: f.runDeps(), Local: true, Resume: first.ID})); code != ExitUsage {
		t.Fatalf("resuming a completed run: exit %d, want 2", code)
	}
}

// More than the server's 10 steps, recorded and listed.
func TestLocalManySteps(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("steps:\n")
	for i := range 25 {
		fmt.Fprintf(&b, "  - id: s%d\n    action: shell.run\n    input: {command: [\"true\"]}\n", i)
		if i > 0 {
			fmt.Fprintf(&b, "    depends_on: [s%d]\n", i-1)
		}
	}
	f, _ := localFactory(t, dir)
	if err := runRun(context.Background(), &runOptions{runDeps: f.runDeps(), Local: true, File: writePipeline(t, dir, b.String()), Output: "jsonl"}); err != nil {
		t.Fatal(err)
	}
	r := storedRun(t, dir, "")
	if len(r.Steps) != 25 || r.Status != run.Completed {
		t.Fatalf("%d steps, %s", len(r.Steps), r.Status)
	}
	out := f.IO.Out.(interface{ String() string }).String()
	if first, _, _ := strings.Cut(out, "\n"); !strings.Contains(first, r.ID) {
		t.Fatalf("first jsonl line %q lacks the run id", first)
	}
}

func TestLocalRunLookup(t *testing.T) {
	dir := t.TempDir()
	f, _ := localFactory(t, dir)
	look := localRunLookup(context.Background(), f)
	if _, ok, err := look("9f175af9-589b-44e8-86b9-1a434702245a"); ok || err != nil {
		t.Fatalf("no database: ok=%v err=%v", ok, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pi", "runs.db")); err == nil {
		t.Fatal("the lookup created the database")
	}
	if err := runRun(context.Background(), &runOptions{runDeps: f.runDeps(), Local: true, File: writePipeline(t, dir, "steps:\n  - id: a\n    action: shell.run\n    input: {command: [\"true\"]}\n")}); err != nil {
		t.Fatal(err)
	}
	id := storedRun(t, dir, "").ID
	rec, ok, err := look(id)
	if !ok || err != nil || rec.Run.ID != id || rec.Run.Status != run.Completed {
		t.Fatalf("lookup %s: %v %v %v", id, rec, ok, err)
	}
}
