package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

func newRun(id string) *run.Run {
	return &run.Run{ID: id, Status: run.InProgress, CreatedAt: time.Now(), Steps: []run.Step{
		{ID: "a", Action: "shell.run", Status: run.StepPending},
	}}
}

// stepEvent is the event of r's step id in its current state, as the engine makes it.
func stepEvent(r *run.Run, id string) run.Event {
	for i := range r.Steps {
		if r.Steps[i].ID == id {
			cp := r.Steps[i]
			return run.Event{RunID: r.ID, StepID: id, Status: string(cp.Status), Step: &cp, Index: i}
		}
	}
	panic("no step " + id)
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := newRun("r1")
	if err := s.Create(ctx, Record{Run: r, File: "x.yaml", Pipeline: []byte("steps: []"), Params: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	r.Steps[0] = run.Step{ID: "a", Action: "shell.run", Status: run.StepCompleted, JobID: "j1", Attempts: 2, Result: map[string]any{"x": 1.0}}
	r.Status = run.Completed
	if err := s.SaveEvents(ctx, "r1", []run.Event{stepEvent(r, "a")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, "r1", run.Completed); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	st := got.Run.Step("a")
	if got.Run.Status != run.Completed || st.JobID != "j1" || st.Attempts != 2 || st.Result["x"] != 1.0 || got.Params["k"] != "v" || string(got.Pipeline) != "steps: []" {
		t.Fatalf("got %+v %+v", got, st)
	}
	evs, err := s.Events(ctx, "r1")
	if err != nil || len(evs) != 1 || evs[0].Status != "completed" {
		t.Fatalf("events %v %v", evs, err)
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

// Two handles (as two pi processes would) writing at once must both succeed.
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				r := newRun(fmt.Sprintf("w%d-%d", w, i))
				if err := s.Create(ctx, Record{Run: r, File: "f"}); err != nil {
					errs <- err
					return
				}
				if err := s.SaveEvents(ctx, r.ID, []run.Event{{RunID: r.ID, Status: "completed"}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s, _ := Open(ctx, path)
	defer s.Close()
	list, err := s.List(ctx, 0)
	if err != nil || len(list) != 40 {
		t.Fatalf("list: %d %v", len(list), err)
	}
	for i := 1; i < len(list); i++ {
		if list[i].CreatedAt.After(list[i-1].CreatedAt) {
			t.Fatalf("not newest first at %d", i)
		}
	}
}

func TestDamagedDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move it aside") {
		t.Fatalf("want a clear error naming %s, got %v", path, err)
	}
}
