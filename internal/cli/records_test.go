package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// testRecords is the runs database with hooks where a test holds it or makes it fail.
type testRecords struct {
	*store.Store
	afterGet func()                  // called between reading a run to resume and claiming it
	fail     func(what string) error // a failure of "events" or "finish" saves, or nil
}

func (r *testRecords) Get(ctx context.Context, id string) (*store.Record, error) {
	rec, err := r.Store.Get(ctx, id)
	if r.afterGet != nil {
		r.afterGet()
	}
	return rec, err
}

func (r *testRecords) SaveEvents(ctx context.Context, id string, evs []run.Event) error {
	if r.fail != nil {
		if err := r.fail("events"); err != nil {
			return err
		}
	}
	return r.Store.SaveEvents(ctx, id, evs)
}

func (r *testRecords) Finish(ctx context.Context, id string, status run.Status) error {
	if r.fail != nil {
		if err := r.fail("finish"); err != nil {
			return err
		}
	}
	return r.Store.Finish(ctx, id, status)
}

// withRecords is o reading and writing f's runs database through a testRecords like tr.
func withRecords(f *Factory, o *runOptions, tr testRecords) *runOptions {
	o.runDeps = f.runDeps()
	o.Records = func(ctx context.Context) (localRecords, error) {
		st, err := openStore(ctx, f)
		if err != nil {
			return nil, err
		}
		rec := tr
		rec.Store = st
		return &rec, nil
	}
	return o
}

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
	hold := testRecords{afterGet: func() { arrived.Done(); <-both }}
	codes := make(chan int, 2)
	for range 2 {
		fi, _ := localFactory(t, dir)
		o := withRecords(fi, &runOptions{Resume: id, Local: true, Output: render.FormatPlain, Concurrency: 1}, hold)
		go func() { codes <- exitCode(runRun(context.Background(), o)) }()
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
			f, _ := localFactory(t, dir)
			o := withRecords(f, &runOptions{File: file, Local: true, Output: render.FormatPlain, Concurrency: 1}, testRecords{fail: fail})
			code := exitCode(runRun(context.Background(), o))
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
