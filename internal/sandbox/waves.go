package sandbox

import (
	"context"
	"sync"

	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/run"
)

// waves schedules a run as the Pi server does (an engine.Scheduler): waves of ready steps
// in declaration order, the next only when the whole wave ended, a stop after a wave with
// a failure, then the server's skip rule. Unlike pi's own eager scheduling, a step behind
// a short chain waits for the slowest step of each earlier wave.
type waves struct{}

// Schedule runs the waves and returns the run's status.
func (waves) Schedule(ctx context.Context, s *engine.Steps) run.Status {
	failed := false
	for !failed && ctx.Err() == nil {
		wave := readyWave(s)
		if len(wave) == 0 {
			break
		}
		for _, i := range wave {
			s.Queue(i)
		}
		var wg sync.WaitGroup
		for _, i := range wave {
			wg.Go(func() { runStep(ctx, s, i) })
		}
		wg.Wait()
		for _, i := range wave {
			failed = failed || s.Status(i) == run.StepFailed
		}
	}
	switch {
	case s.Stopped():
		for i := range s.Graph().Len() {
			if !s.Kept(i) && !s.Status(i).Terminal() {
				s.End(i, run.StepCancelled, "")
			}
		}
		return run.Cancelled
	case failed:
		skipUnfinished(s)
		return run.Failed
	}
	return run.Completed
}

// readyWave is the pending steps whose dependencies all succeeded, in declaration order.
func readyWave(s *engine.Steps) []int {
	g := s.Graph()
	var wave []int
	for i := range g.Len() {
		if s.Status(i) != run.StepPending {
			continue
		}
		ready := true
		for _, d := range g.Deps(i) {
			ready = ready && s.Status(d).Succeeded()
		}
		if ready {
			wave = append(wave, i)
		}
	}
	return wave
}

// runStep makes the attempts of a queued step until it completes, fails for good or is
// cancelled (the server makes one: its runs set no retries).
func runStep(ctx context.Context, s *engine.Steps, i int) {
	for {
		wait, retry := s.Attempt(ctx, i)
		if !retry || !s.Wait(ctx, i, wait) {
			return
		}
	}
}

// skipUnfinished applies the server's rule after a failed wave: a step still waiting on a
// step that never finished (ran to completed or failed) is skipped with dependency_failed;
// a step whose dependencies all finished stays pending.
func skipUnfinished(s *engine.Steps) {
	g := s.Graph()
	var skip []int
	for i := range g.Len() {
		if s.Status(i) != run.StepPending {
			continue
		}
		for _, d := range g.Deps(i) {
			if st := s.Status(d); !st.Succeeded() && st != run.StepFailed {
				skip = append(skip, i)
				break
			}
		}
	}
	for _, i := range skip {
		s.End(i, run.StepSkipped, "dependency_failed")
	}
}
