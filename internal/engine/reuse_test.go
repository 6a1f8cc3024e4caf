package engine

import (
	"context"
	"sync"
	"testing"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// Options.Reuse: a step an earlier job stands for is reused without an attempt (its job and
// result are that job's, and its dependents take its result); one whose job is still being
// made has its first attempt wait for that job; the others run.
func TestReuseHook(t *testing.T) {
	p := &pipeline.Pipeline{Steps: []pipeline.Step{
		step("a", ""), step("b", "a"), step("c", "b"), step("d", "a"),
	}}
	p.Steps[2].InputMap = map[string]string{"source_job_id": "$steps.b.result.job_id"}
	var mu sync.Mutex
	asked := map[string]map[string]any{}
	var resumeJob string
	ran := map[string]int{}
	exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		ran[req.Step.ID]++
		if req.Step.ID == "d" {
			resumeJob = req.ResumeJobID
		}
		return map[string]any{"job_id": "new-" + req.Step.ID}, nil
	})
	rec := &recorder{t: t}
	final := mustRun(t, p, exec, Options{Observer: rec.observe, Reuse: func(_ context.Context, st *pipeline.Step, in map[string]any) Reused {
		mu.Lock()
		defer mu.Unlock()
		asked[st.ID] = in
		switch st.ID {
		case "a", "b":
			return Reused{JobID: "old-" + st.ID, Result: map[string]any{"job_id": "old-" + st.ID}}
		case "d":
			return Reused{Attach: "making-d"}
		}
		return Reused{}
	}})
	if final.Status != run.Completed {
		t.Fatalf("run %s", final.Status)
	}
	for id, want := range map[string]run.StepStatus{"a": run.StepReused, "b": run.StepReused, "c": run.StepCompleted, "d": run.StepCompleted} {
		if s := final.Step(id); s.Status != want {
			t.Errorf("%s: %s, want %s", id, s.Status, want)
		}
	}
	if s := final.Step("b"); s.JobID != "old-b" || s.Attempts != 0 || !s.StartedAt.IsZero() {
		t.Errorf("reused b = %+v", s)
	}
	if ran["a"]+ran["b"] != 0 || ran["c"] != 1 || ran["d"] != 1 {
		t.Errorf("executed %v", ran)
	}
	if asked["c"]["source_job_id"] != "old-b" {
		t.Errorf("c was asked about with %v", asked["c"])
	}
	if resumeJob != "making-d" {
		t.Errorf("d's first attempt waited for %q", resumeJob)
	}
	if got := rec.stepEvents("b"); len(got) != 2 || got[0] != string(run.StepQueued) || got[1] != string(run.StepReused) {
		t.Errorf("b's events %v", got)
	}
}

// A resumed run keeps its reused steps as it keeps completed ones.
func TestResumeKeepsReused(t *testing.T) {
	p := &pipeline.Pipeline{Steps: []pipeline.Step{step("a", ""), step("b", "a")}}
	p.Steps[1].InputMap = map[string]string{"source_job_id": "$steps.a.result.job_id"}
	prior := &run.Run{ID: "r", Status: run.Failed, Steps: []run.Step{
		{ID: "a", Action: "campaigns.generate", Status: run.StepReused, JobID: "old-a", Result: map[string]any{"job_id": "old-a"}},
		{ID: "b", Action: "campaigns.generate", Status: run.StepFailed},
	}}
	var got any
	exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
		if req.Step.ID == "a" {
			t.Error("a ran again")
		}
		got = req.Input["source_job_id"]
		return map[string]any{}, nil
	})
	final := mustRun(t, p, exec, Options{RunID: "r", Resume: prior})
	if final.Status != run.Completed || final.Step("a").Status != run.StepReused || got != "old-a" {
		t.Errorf("resumed: %s %s, b took %v", final.Status, final.Step("a").Status, got)
	}
}
