package engine

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pi-cli/pi/internal/dag"
	"github.com/pi-cli/pi/internal/run"
)

// Steps is a run's steps as its Scheduler sees them: the graph, each step's status, and
// the transitions a scheduler makes. Every method is safe from any goroutine, but a step
// is driven by one goroutine at a time.
type Steps struct{ r *Runner }

// Graph is the run's dependency graph; steps are numbered as in it.
func (s *Steps) Graph() *dag.Graph { return s.r.g }

// Status is step i's status now.
func (s *Steps) Status(i int) run.StepStatus {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.r.state.Steps[i].Status
}

// Kept reports whether step i was kept from Options.Resume: it is done and never runs.
func (s *Steps) Kept(i int) bool { return s.r.kept[i] }

// Queue marks pending step i as ready to run.
func (s *Steps) Queue(i int) {
	s.r.setStep(i, func(st *run.Step, _ time.Time) run.Event {
		st.Status = run.StepQueued
		return run.Event{}
	})
}

// Attempt runs the next attempt of queued step i and records what came of it (see
// Runner.attemptStep): when it failed and may be retried, the step is queued again and
// Attempt returns the wait before the next one and true.
func (s *Steps) Attempt(ctx context.Context, i int) (wait time.Duration, retry bool) {
	return s.r.attemptStep(ctx, i)
}

// Wait waits d on the run's clock before step i's next attempt. When ctx ends first, the
// step ends cancelled and Wait reports false.
func (s *Steps) Wait(ctx context.Context, i int, d time.Duration) bool {
	select {
	case <-s.r.opts.Clock.After(d):
		return true
	case <-ctx.Done():
		s.r.finishUnrun(i, run.StepCancelled, "")
		return false
	}
}

// End ends step i without running it: skipped (msg is its error) or cancelled.
func (s *Steps) End(i int, status run.StepStatus, msg string) { s.r.finishUnrun(i, status, msg) }

// Stopped reports whether the run's caller stopped it (Ctrl-C, --timeout), as opposed to
// a failure cancelling the rest (FailFast).
func (s *Steps) Stopped() bool { return s.r.parent.Err() != nil }

// eager is the default Scheduler: the steps with nothing to wait for are queued; each step
// that finishes queues the dependents it was the last dependency of, so a step is ready
// the moment its last dependency finished. At most Options.Concurrency steps execute at
// once, and a goroutine exists only per slot in use (plus one per step waiting to retry):
// a slot holder goes straight on with the next queued step, so a 10000-step chain runs on
// one goroutine and a wide graph never parks thousands of them.
type eager struct {
	r   *Runner
	s   *Steps
	ctx context.Context
	// waiting[i] counts the dependencies of step i that have not finished; the step that
	// brings it to zero decides step i.
	waiting []atomic.Int32
	// Steps ready for a slot wait in queue (FIFO); free counts the idle slots. Whenever
	// queue is not empty, free is 0, and every slot holder takes the next queued step
	// before it lets its slot go, so nothing is stranded in the queue.
	mu    sync.Mutex
	queue []int
	free  int
	wg    sync.WaitGroup
}

// Schedule runs every step and returns the run's status.
func (e *eager) Schedule(ctx context.Context, s *Steps) run.Status {
	r := s.r
	e.r, e.s, e.ctx, e.free = r, s, ctx, math.MaxInt
	if r.opts.Concurrency > 0 {
		e.free = r.opts.Concurrency
	}
	n := r.g.Len()
	e.waiting = make([]atomic.Int32, n)
	for i := range n {
		for _, d := range r.g.Deps(i) {
			if !r.kept[d] {
				e.waiting[i].Add(1)
			}
		}
	}
	var ready []int
	for i := range n {
		if !r.kept[i] && e.waiting[i].Load() == 0 {
			ready = e.admit(i, ready)
		}
	}
	e.mu.Lock()
	e.queue = append(e.queue, ready...)
	e.dispatchLocked()
	e.mu.Unlock()
	e.wg.Wait()
	return e.status(s.Stopped())
}

// status is the run's status once every step ended.
func (e *eager) status(stopped bool) run.Status {
	var failed, cancelled bool
	for i := range e.r.outcome {
		switch e.r.outcome[i].status {
		case run.StepFailed, run.StepSkipped:
			failed = true
		case run.StepCancelled:
			cancelled = true
		}
	}
	switch {
	case cancelled && stopped:
		return run.Cancelled
	case failed:
		return run.Failed
	case cancelled:
		return run.Cancelled
	}
	return run.Completed
}

// dispatchLocked gives idle slots to queued steps, a goroutine each. e.mu is held.
func (e *eager) dispatchLocked() {
	for e.free > 0 && len(e.queue) > 0 {
		e.free--
		i := e.queue[0]
		e.queue = e.queue[1:]
		e.wg.Add(1)
		go e.worker(i)
	}
}

// worker holds one slot: it runs an attempt of step i, queues what that made ready, then
// goes on with the next queued step, and lets the slot go when the queue is empty.
func (e *eager) worker(i int) {
	defer e.wg.Done()
	var ready []int
	for {
		ready = ready[:0]
		if wait, retry := e.r.attemptStep(e.ctx, i); retry {
			e.wg.Add(1)
			go e.retryLater(i, wait)
		} else {
			ready = e.settle(i, ready)
		}
		e.mu.Lock()
		e.queue = append(e.queue, ready...)
		if len(e.queue) == 0 {
			e.free++
			e.mu.Unlock()
			return
		}
		i = e.queue[0]
		e.queue = e.queue[1:]
		e.dispatchLocked()
		e.mu.Unlock()
	}
}

// retryLater queues step i again once its backoff has passed; the wait holds no slot and
// ends at once on cancellation.
func (e *eager) retryLater(i int, wait time.Duration) {
	defer e.wg.Done()
	var ready []int
	if e.s.Wait(e.ctx, i, wait) {
		ready = append(ready, i)
	} else {
		ready = e.settle(i, ready)
	}
	e.mu.Lock()
	e.queue = append(e.queue, ready...)
	e.dispatchLocked()
	e.mu.Unlock()
}

// settle is called when step f is terminal: it appends to ready the dependents that f was
// the last dependency of and that can run, and ends (skipped or cancelled) those that
// cannot, and theirs in turn.
func (e *eager) settle(f int, ready []int) []int {
	var buf [16]int
	work := append(buf[:0], f)
	for len(work) > 0 {
		d := work[len(work)-1]
		work = work[:len(work)-1]
		for _, u := range e.r.g.Dependents(d) {
			if e.waiting[u].Add(-1) != 0 {
				continue
			}
			n := len(ready)
			if ready = e.admit(u, ready); len(ready) == n {
				work = append(work, u) // ended unrun: its dependents are decided now too
			}
		}
	}
	return ready
}

// admit decides the fate of step i once every dependency finished: skipped behind a
// failure, cancelled behind a cancellation, else queued (appended to ready). Since it
// runs only when all dependencies finished, the decision never depends on which
// goroutine got there first.
func (e *eager) admit(i int, ready []int) []int {
	r := e.r
	cancelledDep := false
	for _, d := range r.g.Deps(i) {
		if r.outcome[d].status == run.StepCancelled {
			cancelledDep = true
		}
	}
	if cause := r.blame(i); cause != "" {
		r.finishUnrun(i, run.StepSkipped, "dependency_failed:"+cause)
		return ready
	}
	if cancelledDep || e.ctx.Err() != nil {
		r.finishUnrun(i, run.StepCancelled, "")
		return ready
	}
	e.s.Queue(i)
	return append(ready, i)
}
