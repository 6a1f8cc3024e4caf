package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// Two resumes of the same failed run at once (both read the record before either claims
// it): exactly one runs it, the other exits 2, and the step runs once.
func TestConcurrentResumesOnlyOneRuns(t *testing.T) {
	dir := t.TempDir()
	file := writePipeline(t, dir, "steps:\n  - id: a\n    action: shell.run\n    input: {script: \"echo ran >> "+filepath.Join(dir, "count")+"; test -f "+filepath.Join(dir, "ok")+"\"}\n")
	f, _ := localFactory(t, dir)
	if code := Execute(context.Background(), f, []string{"run", file, "--local", "-o", "plain"}); code != ExitRunFailed {
		t.Fatalf("first run: exit %d, want 1", code)
	}
	id := storedRun(t, dir, "").ID
	os.WriteFile(filepath.Join(dir, "ok"), nil, 0o644)
	os.Remove(filepath.Join(dir, "count"))

	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	beforeClaim = func() { arrived.Done(); <-both }
	defer func() { beforeClaim = func() {} }()
	codes := make(chan int, 2)
	outs := make([]*strings.Builder, 2)
	for i := range 2 {
		fi, out := localFactory(t, dir)
		outs[i] = out
		go func() { codes <- Execute(context.Background(), fi, []string{"run", "--resume", id, "-o", "plain"}) }()
	}
	got := map[int]int{}
	for range 2 {
		got[<-codes]++
	}
	if got[0] != 1 || got[ExitUsage] != 1 {
		t.Fatalf("exit codes %v, want one 0 and one 2", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "count")); strings.Count(string(b), "ran") != 1 {
		t.Fatalf("the step ran %d times, want once", strings.Count(string(b), "ran"))
	}
}

// A run that completed while its record could not be saved: retried, then reported as
// an incomplete record, and the exit code still says completed.
func TestUnsavableTransitionsDoNotChangeTheOutcome(t *testing.T) {
	dir := t.TempDir()
	file := writePipeline(t, dir, "steps:\n  - id: a\n    action: shell.run\n    input: {command: [echo, hi]}\n")
	for _, tt := range []struct {
		name     string
		failures int // failures of each save before it succeeds; -1: always
		warn     bool
	}{
		{"locked briefly: retried", 2, false},
		{"locked for good", -1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			fails := map[string]int{}
			fail := func(what string) error {
				mu.Lock()
				defer mu.Unlock()
				if tt.failures < 0 || fails[what] < tt.failures {
					fails[what]++
					return errors.New("database is locked (5) (SQLITE_BUSY)")
				}
				return nil
			}
			saveEvents = func(ctx context.Context, st *store.Store, id string, evs []run.Event) error {
				if err := fail("events"); err != nil {
					return err
				}
				return st.SaveEvents(ctx, id, evs)
			}
			finishRecord = func(ctx context.Context, st *store.Store, id string, status run.Status) error {
				if err := fail("finish"); err != nil {
					return err
				}
				return st.Finish(ctx, id, status)
			}
			defer func() {
				saveEvents = func(ctx context.Context, st *store.Store, id string, evs []run.Event) error {
					return st.SaveEvents(ctx, id, evs)
				}
				finishRecord = func(ctx context.Context, st *store.Store, id string, status run.Status) error {
					return st.Finish(ctx, id, status)
				}
			}()
			f, _ := localFactory(t, dir)
			code := Execute(context.Background(), f, []string{"run", file, "--local", "-o", "plain"})
			errOut := f.IO.ErrOut.(interface{ String() string }).String()
			if code != 0 || strings.Contains(errOut, "record is incomplete") != tt.warn {
				t.Fatalf("exit %d (want 0), warning %v (want %v):\n%s", code, !tt.warn, tt.warn, errOut)
			}
			if tt.warn && (strings.Contains(errOut, "delete") || !strings.Contains(errOut, "locked")) {
				t.Fatalf("wrong diagnosis:\n%s", errOut)
			}
			if !tt.warn {
				if r := storedRun(t, dir, ""); r.Status != run.Completed {
					t.Fatalf("stored %s after retries, want completed", r.Status)
				}
			}
		})
	}
}
