package report

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// wideRun is a completed run of n steps: a brand step and n-1 ads that depend on it, each
// with a result, the shape of a big matrix run.
func wideRun(n int) *run.Run {
	r := &run.Run{ID: "9f175af9-589b-44e8-86b9-1a434702245a", Status: run.Completed, CreatedAt: t0, UpdatedAt: t0.Add(time.Minute)}
	r.Steps = make([]run.Step, n)
	r.Steps[0] = run.Step{ID: "brand", Action: "brands.extract", Status: run.StepCompleted, DependsOn: []string{},
		StartedAt: t0, CompletedAt: t0.Add(time.Second), Result: map[string]any{"brand_id": "b"}}
	for i := 1; i < n; i++ {
		job := fmt.Sprintf("j-%d", i)
		u := "https://images.example/campaigns/org/" + job + ".png"
		r.Steps[i] = run.Step{ID: fmt.Sprintf("ad-%d", i), Action: "campaigns.generate", Status: run.StepCompleted,
			DependsOn: []string{"brand"}, JobID: job, StartedAt: t0.Add(time.Second), CompletedAt: t0.Add(2 * time.Second),
			Result: map[string]any{"job_id": job, "image_url": u, "result_url": u}}
	}
	return r
}

// BenchmarkReport writes the page of runs of 1,000 to 100,000 steps. The floor is
// encoding the same run as JSON (one linear pass over the same data): the report's cost
// per step should stay a constant multiple of it as the run grows. Before steps were
// indexed once, the page of 100,000 steps took 27 s (each graph node looked its step up
// by a scan of all steps).
func BenchmarkReport(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		r := wideRun(n)
		b.Run(fmt.Sprintf("floor-json/steps=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := json.NewEncoder(io.Discard).Encode(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("report/steps=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := Write(io.Discard, r, Options{Now: t0.Add(time.Hour)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
