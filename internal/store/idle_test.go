package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
)

// A resumed run's duration is the sum of the spans pi worked on it: Claim adds the time
// since the run's last record (its pi killed, or ended) to Idle, every reader of the
// record gets it, and RunDuration leaves it out. Step a ran 5 s, pi died, the run was
// resumed a minute later and step b ran 2 s: 7 s, not 67 s.
func TestResumeLeavesTheIdleGapOut(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
	r := &run.Run{ID: "r1", Status: run.InProgress, CreatedAt: t0, Steps: []run.Step{
		{ID: "a", Action: "shell.run", Status: run.StepCompleted, StartedAt: t0, CompletedAt: t0.Add(5 * time.Second)},
		{ID: "b", Action: "shell.run", Status: run.StepPending},
	}}
	if err := s.Create(ctx, Record{Run: r, File: "x.yaml", Owner: Owner{Host: "gone", PID: 1}}); err != nil {
		t.Fatal(err)
	}
	// pi's last record was when step a ended; then it was killed
	if _, err := s.db.ExecContext(ctx, `UPDATE runs SET updated_ms=? WHERE id='r1'`, t0.Add(5*time.Second).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Run.Idle != 0 {
		t.Fatalf("idle %v before any resume", rec.Run.Idle)
	}
	if err := s.Claim(ctx, rec, Self()); err != nil {
		t.Fatal(err)
	}
	resumed := rec.Run.UpdatedAt // the claim's time: the resume
	if want := resumed.Sub(t0.Add(5 * time.Second)); rec.Run.Idle != want || want < time.Hour-time.Minute {
		t.Fatalf("idle after the claim %v, want %v", rec.Run.Idle, want)
	}
	b := run.Step{ID: "b", Action: "shell.run", Status: run.StepCompleted, StartedAt: resumed, CompletedAt: resumed.Add(2 * time.Second)}
	if err := s.SaveEvents(ctx, "r1", []run.Event{{RunID: "r1", StepID: "b", Status: "completed", Step: &b, Index: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, "r1", run.Completed); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Run.Idle != rec.Run.Idle {
		t.Errorf("Get: idle %v, the claim recorded %v", got.Run.Idle, rec.Run.Idle)
	}
	if d, _ := render.RunDuration(got.Run, time.Now()); d != 7*time.Second {
		t.Errorf("duration of the resumed run %v, want 7s (5 s, then 2 s after the resume)", d)
	}
	list, err := s.ListWhere(ctx, Filter{})
	if err != nil || len(list) != 1 || list[0].Idle != rec.Run.Idle {
		t.Errorf("ListWhere: %+v %v", list, err)
	}
	all, err := s.List(ctx, 0)
	if err != nil || len(all) != 1 || all[0].Idle != rec.Run.Idle {
		t.Errorf("List: %+v %v", all, err)
	}
}
