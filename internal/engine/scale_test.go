package engine

import (
	"context"
	"runtime"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// The engine's work per event, observer included, does not grow with the run: a chain of
// 10,000 steps allocates per event what a chain of 1,000 does (a snapshot per event, as the
// local run's writer used to take, would make it grow tenfold), and every step event
// carries the step's new state, so the observer needs nothing else.
func TestWorkPerEventIndependentOfRunSize(t *testing.T) {
	per := func(n int) (allocs, bytes float64) {
		p := shape("chain", n)
		events, carried := 0, 0
		opts := Options{RunID: "scale", Concurrency: 8, Observer: func(ev run.Event) {
			events++
			if ev.StepID == "" || (ev.Step != nil && ev.Step.ID == ev.StepID && string(ev.Step.Status) == ev.Status) {
				carried++
			}
		}}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, err := build(p, noop, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := r.Run(context.Background())
		runtime.ReadMemStats(&after)
		if got.Status != run.Completed || carried != events {
			t.Fatalf("run %s; %d of %d events carry their step", got.Status, carried, events)
		}
		return float64(after.Mallocs-before.Mallocs) / float64(events), float64(after.TotalAlloc-before.TotalAlloc) / float64(events)
	}
	small, smallBytes := per(1000)
	big, bigBytes := per(10_000)
	if big > small*1.2+1 || bigBytes > smallBytes*1.2+64 {
		t.Errorf("per event: %.1f allocations, %.0f bytes with 10,000 steps; %.1f, %.0f with 1,000",
			big, bigBytes, small, smallBytes)
	}
	t.Logf("per event: %.1f allocations, %.0f B (1,000 steps); %.1f, %.0f B (10,000)", small, smallBytes, big, bigBytes)
}
