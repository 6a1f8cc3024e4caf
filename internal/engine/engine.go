package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/dag"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// MinRetryWait is the shortest wait before a retry, so that an event's RetryIn is never 0
// for an attempt that will be retried and observers can tell it from a final failure.
const MinRetryWait = time.Millisecond

// Runner executes one run of a pipeline. Build it with New, start it with Run; Snapshot may
// be called at any moment from any goroutine. The Runner owns the steps' state and their
// attempts (attempt.go, resolve.go); when steps start is its Scheduler's business
// (schedule.go).
type Runner struct {
	p    *pipeline.Pipeline
	g    *dag.Graph
	exec Executor
	opts Options
	// rand returns a number in [0, 1) for the backoff jitter; tests replace it.
	rand func() float64

	started atomic.Bool
	// parent is the caller's context, cancel cancels the run's own (FailFast).
	parent   context.Context
	cancel   context.CancelFunc
	failOnce sync.Once

	// obsMu orders observer calls: it is held from the state change through the observer
	// call, so observers see transitions in the order they happened and never run at once.
	// mu guards state alone, so an observer may call Snapshot.
	obsMu sync.Mutex
	mu    sync.Mutex
	state *run.Run

	// Per step. outcome is written when the step ends, before any dependent is decided, so
	// a scheduler reads it without a lock. kept: kept from Options.Resume. attempts: made
	// in this run. input: resolved, kept only until the step's last attempt.
	outcome  []outcome
	kept     []bool
	attempts []int
	input    []map[string]any
	// carry holds, for the few steps that have one, what a step's first attempt takes
	// over (carried): a map, not two strings for every step of a big run.
	carryMu sync.Mutex
	carry   map[int]carried
}

// carried is what a step's first attempt takes over: the job an interrupted earlier run
// left running, or another pi is making (Options.Reuse), to wait for instead of a new one
// (Request.ResumeJobID); the Idempotency-Key of a creation an interrupted run of the step
// sent without an answer (Request.ResumeCreationKey).
type carried struct{ jobID, creationKey string }

// carryOver changes what step i's first attempt takes over.
func (r *Runner) carryOver(i int, change func(*carried)) {
	r.carryMu.Lock()
	defer r.carryMu.Unlock()
	c := r.carry[i]
	change(&c)
	if r.carry == nil {
		r.carry = map[int]carried{}
	}
	r.carry[i] = c
}

// carriedOf is what step i's first attempt takes over (zero: nothing).
func (r *Runner) carriedOf(i int) carried {
	r.carryMu.Lock()
	defer r.carryMu.Unlock()
	return r.carry[i]
}

// outcome is what dependents need to know of a finished step.
type outcome struct {
	status run.StepStatus
	// cause is the failed step a skipped step blames (itself for a failed step).
	cause string
}

// New prepares a run of p, which must already be validated with its params applied; g is
// its graph (pipeline.NewGraph), built once by the caller. New checks only what would
// otherwise hang the run, in constant time: g is p's, and g.Err says it can run (no
// duplicate or unknown ids, no cycle).
func New(p *pipeline.Pipeline, g *dag.Graph, exec Executor, opts Options) (*Runner, error) {
	switch {
	case p == nil || g == nil || exec == nil:
		return nil, errors.New("engine: a pipeline, its graph and an executor are required")
	case opts.RunID == "":
		return nil, errors.New("engine: Options.RunID is required")
	case g.Len() != len(p.Steps):
		return nil, fmt.Errorf("engine: the graph has %d steps, the pipeline %d", g.Len(), len(p.Steps))
	case g.Err() != nil:
		return nil, fmt.Errorf("engine: step %w (validate the pipeline first)", g.Err())
	}
	opts.Clock = clock.Or(opts.Clock)
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = backoff.StepMax
	}
	n := len(p.Steps)
	r := &Runner{
		p: p, g: g, exec: exec, opts: opts, rand: rand.Float64,
		outcome:  make([]outcome, n),
		kept:     make([]bool, n),
		attempts: make([]int, n),
		input:    make([]map[string]any, n),
	}
	now := opts.Clock.Now()
	r.state = &run.Run{ID: opts.RunID, Status: run.Pending, Metadata: p.Metadata,
		CreatedAt: now, UpdatedAt: now, Steps: make([]run.Step, n)}
	if res := opts.Resume; res != nil && res.ID == opts.RunID && !res.CreatedAt.IsZero() {
		// the same run, continued: it began when it was created, and was idle (the store
		// says how long) until now
		r.state.CreatedAt, r.state.Idle = res.CreatedAt, res.Idle
	}
	for i := range p.Steps {
		st := &p.Steps[i]
		r.state.Steps[i] = run.Step{ID: st.ID, Action: st.Action, Status: run.StepPending, DependsOn: st.DependsOn}
		if opts.Resume != nil {
			r.resume(i, opts.Resume.Step(st.ID))
		}
	}
	return r, nil
}

// resume takes over what an earlier run of step i left: a completed (or reused) step keeps
// its state and is not run again; one interrupted while its job ran hands that job to its
// first attempt.
func (r *Runner) resume(i int, old *run.Step) {
	st := &r.p.Steps[i]
	if old == nil || old.Action != st.Action {
		return
	}
	switch old.Status {
	case run.StepCompleted, run.StepReused:
		kept := *old
		kept.DependsOn = st.DependsOn
		r.state.Steps[i] = kept
		r.kept[i] = true
		r.outcome[i] = outcome{status: run.StepCompleted}
	case run.StepProcessing, run.StepCancelled:
		// Interrupted while its job was running: the job may have gone on (and be paid
		// for); a failed job is not waited for again.
		r.carryOver(i, func(c *carried) { c.jobID = old.JobID })
	}
	if old.Status != run.StepCompleted && old.Status != run.StepReused && old.MayHaveJob() {
		// A creation was sent and its answer lost (cut off, killed, or failed after it was
		// sent): the same key goes again.
		r.carryOver(i, func(c *carried) { c.creationKey = old.CreationKey })
	}
}

// Snapshot returns a copy of the run as it is now.
func (r *Runner) Snapshot() *run.Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.Clone()
}

// Run executes the run and blocks until it is terminal, then returns its final state: the
// Runner's own, which it changes no more (no copy of a 100,000-step run at pi's peak of
// memory); Snapshot after Run copies it. A failed or cancelled run is not an error (its
// status says so); the error is only for misuse, such as calling Run twice.
func (r *Runner) Run(ctx context.Context) (*run.Run, error) {
	if !r.started.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("engine: run %s was already started", r.opts.RunID)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.parent, r.cancel = ctx, cancel
	r.setRun(run.InProgress)
	sched := r.opts.Scheduler
	if sched == nil {
		sched = &eager{}
	}
	r.setRun(sched.Schedule(runCtx, &Steps{r: r}))
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state, nil
}

// finishUnrun ends a step that never ran (skipped or cancelled).
func (r *Runner) finishUnrun(i int, status run.StepStatus, msg string) {
	cause := ""
	if status == run.StepSkipped {
		cause = r.blame(i)
	}
	r.outcome[i] = outcome{status: status, cause: cause}
	r.setStep(i, func(s *run.Step, now time.Time) run.Event {
		s.Status, s.CompletedAt = status, now
		if msg != "" {
			s.Error = msg
		}
		return run.Event{}
	})
}

// blame returns the failed ancestor that the first failed or skipped dependency of step i
// names, or "" when there is none.
func (r *Runner) blame(i int) string {
	for _, d := range r.g.Deps(i) {
		switch o := r.outcome[d]; o.status {
		case run.StepFailed, run.StepSkipped:
			return o.cause
		}
	}
	return ""
}

// setStep applies one transition of step i and reports it to the observer. The event's
// status defaults to the step's new status.
func (r *Runner) setStep(i int, mutate func(s *run.Step, now time.Time) run.Event) {
	obs := r.opts.Observer
	if obs != nil {
		r.obsMu.Lock()
		defer r.obsMu.Unlock()
	}
	r.mu.Lock()
	now := r.opts.Clock.Now()
	s := &r.state.Steps[i]
	ev := mutate(s, now)
	r.state.UpdatedAt = now
	if ev.Status == "" {
		ev.Status = string(s.Status)
	}
	ev.Time, ev.RunID, ev.StepID, ev.Attempt, ev.JobID = now, r.state.ID, s.ID, s.Attempts, s.JobID
	if ev.Error == "" && (s.Status == run.StepFailed || s.Status == run.StepSkipped || ev.RetryIn > 0) {
		ev.Error = s.Error
	}
	if obs != nil {
		// The event carries the step's new state, so no observer needs the whole run.
		cp := *s
		ev.Step, ev.Index = &cp, i
	}
	r.mu.Unlock()
	if obs != nil {
		obs(ev)
	}
}

// setRun changes the run's status and reports it.
func (r *Runner) setRun(status run.Status) {
	obs := r.opts.Observer
	if obs != nil {
		r.obsMu.Lock()
		defer r.obsMu.Unlock()
	}
	r.mu.Lock()
	now := r.opts.Clock.Now()
	r.state.Status, r.state.UpdatedAt = status, now
	r.mu.Unlock()
	if obs != nil {
		obs(run.Event{Time: now, RunID: r.opts.RunID, Status: string(status)})
	}
}
