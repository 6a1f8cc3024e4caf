package store

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

func bigRun(id string, n int) *run.Run {
	r := &run.Run{ID: id, Status: run.InProgress, CreatedAt: time.Now(), Steps: make([]run.Step, n)}
	for i := range r.Steps {
		r.Steps[i] = run.Step{ID: fmt.Sprintf("s%d", i), Action: "shell.run", Status: run.StepPending}
		if i > 0 {
			r.Steps[i].DependsOn = []string{r.Steps[i-1].ID}
		}
	}
	return r
}

// A batch costs the same in a run of 1,000 steps as in one of 10,000: only the touched
// steps are encoded and written, and the run's big rows are not rewritten.
func TestSaveEventsWorkIndependentOfRunSize(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	per := func(n int) (allocs, bytes float64) {
		r := bigRun(fmt.Sprintf("run-%d", n), n)
		if err := s.Create(ctx, Record{Run: r, File: "big.yaml", Pipeline: make([]byte, 40*n)}); err != nil {
			t.Fatal(err)
		}
		k := 0
		batch := func() {
			i := (k * 7919) % n
			k++
			var evs []run.Event
			for _, st := range []run.StepStatus{run.StepQueued, run.StepProcessing, run.StepCompleted} {
				step := r.Steps[i]
				step.Status, step.Attempts, step.Result = st, 1, map[string]any{"exit_code": 0}
				evs = append(evs, run.Event{RunID: r.ID, StepID: step.ID, Status: string(st), Attempt: 1, Step: &step, Index: i})
			}
			if err := s.SaveEvents(ctx, r.ID, evs); err != nil {
				t.Fatal(err)
			}
		}
		allocs = testing.AllocsPerRun(100, batch)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const batches = 100
		for range batches {
			batch()
		}
		runtime.ReadMemStats(&after)
		return allocs, float64(after.TotalAlloc-before.TotalAlloc) / batches
	}
	small, smallBytes := per(1000)
	big, bigBytes := per(10_000)
	if big > small*1.2+5 || bigBytes > smallBytes*1.2+1024 {
		t.Errorf("per batch: %.0f allocations, %.0f bytes with 10,000 steps; %.0f, %.0f with 1,000: the work grows with the run",
			big, bigBytes, small, smallBytes)
	}
	got, err := s.Get(ctx, "run-10000")
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	for _, st := range got.Run.Steps {
		if st.Status == run.StepCompleted && st.Result["exit_code"] == 0.0 {
			done++
		}
	}
	if done == 0 || len(got.Run.Steps) != 10_000 || got.Run.Steps[9999].DependsOn[0] != "s9998" {
		t.Fatalf("%d of %d steps completed after the batches", done, len(got.Run.Steps))
	}
}

func TestDecodeIDs(t *testing.T) {
	for text, want := range map[string][]string{
		`null`: nil, `[]`: nil, `["a"]`: {"a"}, `["a","b-2","c_3"]`: {"a", "b-2", "c_3"},
		`["x\",\"y"]`: {`x","y`}, `["é","\u00e9"]`: {"é", "é"},
	} {
		got, err := decodeIDs(text)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
			t.Errorf("decodeIDs(%s) = %q, %v; want %q", text, got, err, want)
		}
	}
	if _, err := decodeIDs(`["a"`); err == nil {
		t.Error("a broken list is an error")
	}
}

// Identical short results decode once and are shared; different ones are not mixed up.
func TestResultCache(t *testing.T) {
	var c resultCache
	a1, err1 := c.decode(`{"exit_code":0}`)
	a2, err2 := c.decode(`{"exit_code":0}`)
	b, err3 := c.decode(`{"exit_code":1}`)
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatal(err1, err2, err3)
	}
	if a1["exit_code"] != 0.0 || b["exit_code"] != 1.0 {
		t.Fatalf("decoded %v %v", a1, b)
	}
	if fmt.Sprintf("%p", a1) != fmt.Sprintf("%p", a2) {
		t.Error("an identical result was decoded twice")
	}
	if _, err := c.decode(`{"broken"`); err == nil {
		t.Error("a broken result is an error")
	}
}
