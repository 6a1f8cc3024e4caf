package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// MinRetryWait is the shortest wait before a retry, so that an event's RetryIn is never 0
// for an attempt that will be retried and observers can tell it from a final failure.
const MinRetryWait = time.Millisecond

// Runner executes one run of a pipeline. Build it with New, start it with Run; Snapshot may
// be called at any moment from any goroutine.
type Runner struct {
	p     *pipeline.Pipeline
	exec  Executor
	opts  Options
	clock clock.Clock
	graph *pipeline.Graph
	deps  [][]int
	// rand returns a number in [0, 1) for the backoff jitter; tests replace it.
	rand func() float64

	started atomic.Bool
	sem     chan struct{} // Batches: the slots; nil when concurrency is unlimited

	// The Eager scheduler: steps ready for a slot wait in queue (FIFO); free counts the idle
	// slots. Whenever queue is not empty, free is 0, and every slot holder takes the next
	// queued step before it lets its slot go, so nothing is stranded in the queue.
	qmu   sync.Mutex
	queue []int
	free  int

	// obsMu orders observer calls: it is held from the state change through the observer
	// call, so observers see transitions in the order they happened and never run at once.
	// mu guards state alone, so an observer may call Snapshot.
	obsMu sync.Mutex
	mu    sync.Mutex
	state *run.Run

	// users[i] are the steps that depend on step i. waiting[i] counts the dependencies of
	// step i that have not finished; the step that brings it to zero starts step i. outcome[i]
	// is written before that count drops, so a dependent reads it without a lock.
	users   [][]int
	waiting []atomic.Int32
	outcome []outcome
	resumed []bool
	// reattach is, per step, the job an interrupted earlier run left running, for the
	// step's first attempt to wait for (Request.ResumeJobID).
	reattach []string
	attempts []int            // attempts made in this run, per step
	input    []map[string]any // the resolved input, per step
	wg       sync.WaitGroup

	failOnce sync.Once
	cancel   context.CancelFunc // cancels the run's context (FailFast)
}

// outcome is what dependents need to know of a finished step.
type outcome struct {
	status run.StepStatus
	// cause is the failed step a skipped step blames (itself for a failed step).
	cause string
}

// New prepares a run of p, which must already be validated with its params applied. It
// checks only what would otherwise hang or crash the run: duplicate or unknown step ids
// and cycles.
func New(p *pipeline.Pipeline, exec Executor, opts Options) (*Runner, error) {
	if p == nil || exec == nil {
		return nil, errors.New("engine: a pipeline and an executor are required")
	}
	if opts.RunID == "" {
		return nil, errors.New("engine: Options.RunID is required")
	}
	opts.Clock = clock.Or(opts.Clock)
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = backoff.StepMax
	}
	n := len(p.Steps)
	r := &Runner{
		p: p, exec: exec, opts: opts, clock: opts.Clock, rand: rand.Float64,
		deps:     make([][]int, n),
		users:    make([][]int, n),
		waiting:  make([]atomic.Int32, n),
		outcome:  make([]outcome, n),
		resumed:  make([]bool, n),
		reattach: make([]string, n),
		attempts: make([]int, n),
		input:    make([]map[string]any, n),
		free:     math.MaxInt,
	}
	// The graph is built once (pipeline.Graph); the engine refuses what validation reports.
	g := pipeline.NewGraph(p)
	r.graph = g
	for i := range p.Steps {
		st := &p.Steps[i]
		if g.Duplicate(i) {
			return nil, fmt.Errorf("engine: step id %q is used twice", st.ID)
		}
		for _, d := range st.DependsOn {
			if d == st.ID {
				return nil, fmt.Errorf("engine: step %q depends on itself", st.ID)
			}
			if _, ok := g.Index(d); !ok {
				return nil, fmt.Errorf("engine: step %q depends on unknown step %q", st.ID, d)
			}
		}
		r.deps[i], r.users[i] = g.Deps(i), g.Dependents(i)
	}
	if cycles := g.Cycles(); len(cycles) > 0 {
		return nil, fmt.Errorf("engine: step %q is on a dependency cycle and could never start (validate the pipeline first)", p.Steps[cycles[0][0]].ID)
	}
	if opts.Concurrency > 0 {
		r.free = opts.Concurrency
		if opts.Policy == Batches {
			r.sem = make(chan struct{}, opts.Concurrency)
		}
	}

	now := r.clock.Now()
	r.state = &run.Run{ID: opts.RunID, Status: run.Pending, Metadata: p.Metadata,
		CreatedAt: now, UpdatedAt: now, Steps: make([]run.Step, n)}
	for i := range p.Steps {
		st := &p.Steps[i]
		r.state.Steps[i] = run.Step{ID: st.ID, Action: st.Action, Status: run.StepPending, DependsOn: st.DependsOn}
		r.waiting[i].Store(int32(len(r.deps[i])))
		if opts.Resume == nil {
			continue
		}
		old := opts.Resume.Step(st.ID)
		if old == nil || old.Action != st.Action {
			continue
		}
		switch old.Status {
		case run.StepCompleted, run.StepReused:
			kept := *old
			kept.DependsOn = st.DependsOn
			r.state.Steps[i] = kept
			r.resumed[i] = true
			r.outcome[i] = outcome{status: run.StepCompleted}
		case run.StepProcessing, run.StepCancelled:
			// Interrupted while its job was running: the job may have gone on (and be paid
			// for); a failed job is not waited for again.
			r.reattach[i] = old.JobID
		}
	}
	for i := range p.Steps {
		if r.resumed[i] {
			for _, u := range r.users[i] {
				r.waiting[u].Add(-1)
			}
		}
	}
	return r, nil
}

// Snapshot returns a copy of the run as it is now.
func (r *Runner) Snapshot() *run.Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.Clone()
}

// Run executes the run and blocks until it is terminal, then returns its final state. A
// failed or cancelled run is not an error (its status says so); the error is only for
// misuse, such as calling Run twice.
func (r *Runner) Run(ctx context.Context) (*run.Run, error) {
	if !r.started.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("engine: run %s was already started", r.opts.RunID)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.cancel = cancel
	r.setRun(run.InProgress)

	var status run.Status
	if r.opts.Policy == Batches {
		status = r.runBatches(ctx, runCtx)
	} else {
		status = r.runEager(ctx, runCtx)
	}
	r.setRun(status)
	return r.Snapshot(), nil
}

// runEager queues the steps with nothing to wait for; each step that finishes queues the
// dependents it was the last dependency of, so a step is ready the moment its last
// dependency finished. A goroutine exists only per slot in use (plus one per step waiting
// to retry): a slot holder goes straight on with the next queued step, so a 10000-step
// chain runs on one goroutine and a wide graph never parks thousands of them.
func (r *Runner) runEager(parent, ctx context.Context) run.Status {
	var ready []int
	for i := range r.p.Steps {
		if !r.resumed[i] && r.waiting[i].Load() == 0 {
			ready = r.admit(ctx, i, ready)
		}
	}
	r.qmu.Lock()
	r.queue = append(r.queue, ready...)
	r.dispatchLocked(ctx)
	r.qmu.Unlock()
	r.wg.Wait()

	var failed, cancelled bool
	for i := range r.outcome {
		switch r.outcome[i].status {
		case run.StepFailed, run.StepSkipped:
			failed = true
		case run.StepCancelled:
			cancelled = true
		}
	}
	switch {
	case cancelled && parent.Err() != nil:
		return run.Cancelled
	case failed:
		return run.Failed
	case cancelled:
		return run.Cancelled
	}
	return run.Completed
}

// dispatchLocked gives idle slots to queued steps, a goroutine each. r.qmu is held.
func (r *Runner) dispatchLocked(ctx context.Context) {
	for r.free > 0 && len(r.queue) > 0 {
		r.free--
		i := r.queue[0]
		r.queue = r.queue[1:]
		r.wg.Add(1)
		go r.worker(ctx, i)
	}
}

// worker holds one slot: it runs an attempt of step i, queues what that made ready, then
// goes on with the next queued step, and lets the slot go when the queue is empty.
func (r *Runner) worker(ctx context.Context, i int) {
	defer r.wg.Done()
	var ready []int
	for {
		ready = ready[:0]
		if wait, retry := r.attemptStep(ctx, i); retry {
			r.wg.Add(1)
			go r.retryLater(ctx, i, wait)
		} else {
			ready = r.settle(ctx, i, ready)
		}
		r.qmu.Lock()
		r.queue = append(r.queue, ready...)
		if len(r.queue) == 0 {
			r.free++
			r.qmu.Unlock()
			return
		}
		i = r.queue[0]
		r.queue = r.queue[1:]
		r.dispatchLocked(ctx)
		r.qmu.Unlock()
	}
}

// retryLater queues step i again once its backoff has passed; the wait holds no slot and
// ends at once on cancellation.
func (r *Runner) retryLater(ctx context.Context, i int, wait time.Duration) {
	defer r.wg.Done()
	var ready []int
	select {
	case <-r.clock.After(wait):
		ready = append(ready, i)
	case <-ctx.Done():
		r.finishUnrun(i, run.StepCancelled, "")
		ready = r.settle(ctx, i, ready)
	}
	r.qmu.Lock()
	r.queue = append(r.queue, ready...)
	r.dispatchLocked(ctx)
	r.qmu.Unlock()
}

// settle is called when step f is terminal: it appends to ready the dependents that f was
// the last dependency of and that can run, and ends (skipped or cancelled) those that
// cannot, and theirs in turn.
func (r *Runner) settle(ctx context.Context, f int, ready []int) []int {
	var buf [16]int
	work := append(buf[:0], f)
	for len(work) > 0 {
		d := work[len(work)-1]
		work = work[:len(work)-1]
		for _, u := range r.users[d] {
			if r.waiting[u].Add(-1) != 0 {
				continue
			}
			n := len(ready)
			if ready = r.admit(ctx, u, ready); len(ready) == n {
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
func (r *Runner) admit(ctx context.Context, i int, ready []int) []int {
	cancelledDep := false
	for _, d := range r.deps[i] {
		if r.outcome[d].status == run.StepCancelled {
			cancelledDep = true
		}
	}
	if cause := r.blame(i); cause != "" {
		r.finishUnrun(i, run.StepSkipped, "dependency_failed:"+cause)
		return ready
	}
	if cancelledDep || ctx.Err() != nil {
		r.finishUnrun(i, run.StepCancelled, "")
		return ready
	}
	r.setStep(i, func(s *run.Step, _ time.Time) run.Event {
		s.Status = run.StepQueued
		return run.Event{}
	})
	return append(ready, i)
}

// blame returns the failed ancestor that the first failed or skipped dependency of step i
// names, or "" when there is none.
func (r *Runner) blame(i int) string {
	for _, d := range r.deps[i] {
		switch o := r.outcome[d]; o.status {
		case run.StepFailed, run.StepSkipped:
			return o.cause
		}
	}
	return ""
}

// runBatches reproduces the Pi server: waves of ready steps in declaration order, the next
// only when the whole wave ended, a stop after a wave with a failure, then the server's
// skip rule.
func (r *Runner) runBatches(parent, ctx context.Context) run.Status {
	failed := false
	for !failed && ctx.Err() == nil {
		var wave []int
		r.mu.Lock()
		for i := range r.state.Steps {
			if r.state.Steps[i].Status == run.StepPending && r.depsCompletedLocked(i) {
				wave = append(wave, i)
			}
		}
		r.mu.Unlock()
		if len(wave) == 0 {
			break
		}
		for _, i := range wave {
			r.setStep(i, func(s *run.Step, _ time.Time) run.Event {
				s.Status = run.StepQueued
				return run.Event{}
			})
		}
		var wg sync.WaitGroup
		for _, i := range wave {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.execute(ctx, i)
			}()
		}
		wg.Wait()
		for _, i := range wave {
			failed = failed || r.outcome[i].status == run.StepFailed
		}
	}
	switch {
	case parent.Err() != nil:
		for i := range r.p.Steps {
			if !r.outcome[i].status.Terminal() && !r.resumed[i] {
				r.finishUnrun(i, run.StepCancelled, "")
			}
		}
		return run.Cancelled
	case failed:
		// The server skips a step still waiting on a step that never finished (ran to
		// completed or failed); a step whose dependencies all finished stays pending.
		var skip []int
		r.mu.Lock()
		for i := range r.state.Steps {
			if r.state.Steps[i].Status != run.StepPending {
				continue
			}
			for _, d := range r.deps[i] {
				if st := r.state.Steps[d].Status; !st.Succeeded() && st != run.StepFailed {
					skip = append(skip, i)
					break
				}
			}
		}
		r.mu.Unlock()
		for _, i := range skip {
			r.finishUnrun(i, run.StepSkipped, "dependency_failed")
		}
		return run.Failed
	}
	return run.Completed
}

func (r *Runner) depsCompletedLocked(i int) bool {
	for _, d := range r.deps[i] {
		if !r.state.Steps[d].Status.Succeeded() {
			return false
		}
	}
	return true
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

// retryFor returns the step's retry policy.
func (r *Runner) retryFor(st *pipeline.Step) pipeline.Retry {
	pol := pipeline.Retry{MaxAttempts: backoff.StepAttempts, Backoff: backoff.StepBase}
	switch {
	case st.Retry != nil:
		pol = *st.Retry
	case r.opts.DefaultRetry != nil:
		pol = *r.opts.DefaultRetry
	}
	if pol.MaxAttempts < 1 {
		pol.MaxAttempts = 1
	}
	return pol
}

// execute runs the attempts of a queued step in the Batches policy until it completes,
// fails for good or is cancelled. The slot is held only around each attempt.
func (r *Runner) execute(ctx context.Context, i int) {
	for {
		if r.sem != nil {
			select {
			case r.sem <- struct{}{}:
			case <-ctx.Done():
				r.finishUnrun(i, run.StepCancelled, "")
				return
			}
		}
		wait, retry := r.attemptStep(ctx, i)
		if r.sem != nil {
			<-r.sem
		}
		if !retry {
			return
		}
		select {
		case <-r.clock.After(wait):
		case <-ctx.Done():
			r.finishUnrun(i, run.StepCancelled, "")
			return
		}
	}
}

// attemptStep runs the next attempt of queued step i (the caller holds a slot) and records
// the outcome. When the attempt failed and may be retried, the step goes back to queued
// and attemptStep returns the wait before the next attempt and true.
func (r *Runner) attemptStep(ctx context.Context, i int) (wait time.Duration, retry bool) {
	if ctx.Err() != nil {
		r.finishUnrun(i, run.StepCancelled, "")
		return 0, false
	}
	st := &r.p.Steps[i]
	if r.attempts[i] == 0 && r.reused(ctx, i) {
		return 0, false
	}
	r.attempts[i]++
	attempt := r.attempts[i]
	defer func() {
		if !retry {
			r.input[i] = nil // kept only for the next attempt: a big run holds no finished inputs
		}
	}()
	r.setStep(i, func(s *run.Step, now time.Time) run.Event {
		s.Status, s.Attempts = run.StepProcessing, attempt
		if s.StartedAt.IsZero() {
			s.StartedAt = now
		}
		return run.Event{}
	})
	var (
		res      map[string]any
		err      error
		timedOut bool
	)
	if attempt == 1 && r.input[i] == nil {
		r.input[i], err = r.resolve(i)
	}
	if err == nil {
		in := r.input[i]
		if attempt > 1 {
			in = maps.Clone(in) // an executor may have changed the first attempt's map
		}
		res, timedOut, err = r.attempt(ctx, i, in, attempt)
	}

	if err == nil {
		r.outcome[i] = outcome{status: run.StepCompleted}
		r.setStep(i, func(s *run.Step, now time.Time) run.Event {
			s.Status, s.Result, s.Error, s.CompletedAt = run.StepCompleted, res, "", now
			return run.Event{}
		})
		return 0, false
	}
	if ctx.Err() != nil {
		r.finishUnrun(i, run.StepCancelled, "")
		return 0, false
	}
	var se *StepError
	errors.As(err, &se)
	transient := timedOut || (se != nil && se.Transient)
	if timedOut {
		err = fmt.Errorf("timeout: attempt %d ran longer than %s", attempt, st.Timeout)
	}
	msg := err.Error()
	if pol := r.retryFor(st); transient && attempt < pol.MaxAttempts {
		var hint time.Duration
		if se != nil && !timedOut {
			hint = se.RetryAfter
		}
		wait := backoff.Policy{Base: pol.Backoff, Max: r.opts.MaxBackoff, Min: MinRetryWait}.Wait(attempt, r.rand(), hint)
		r.setStep(i, func(s *run.Step, _ time.Time) run.Event {
			// The step waits for its next attempt as queued: it is not terminal yet.
			s.Status, s.Error = run.StepQueued, msg
			return run.Event{Status: string(run.StepFailed), RetryIn: wait}
		})
		return wait, true
	}
	r.outcome[i] = outcome{status: run.StepFailed, cause: st.ID}
	r.setStep(i, func(s *run.Step, now time.Time) run.Event {
		s.Status, s.Error, s.CompletedAt = run.StepFailed, msg, now
		if se != nil && se.Result != nil {
			s.Result = se.Result
		}
		return run.Event{}
	})
	if r.opts.FailFast {
		r.failOnce.Do(r.cancel)
	}
	return 0, false
}

// attempt calls the executor once, under the step's timeout when it has one.
func (r *Runner) attempt(ctx context.Context, i int, input map[string]any, n int) (res map[string]any, timedOut bool, err error) {
	st := &r.p.Steps[i]
	setJobID := func(id string) {
		r.setStep(i, func(s *run.Step, _ time.Time) run.Event {
			s.JobID = id
			return run.Event{}
		})
	}
	actx := ctx
	if st.Timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithCancel(ctx)
		var fired atomic.Bool
		stop := make(chan struct{})
		timer := r.clock.After(st.Timeout)
		go func() {
			select {
			case <-timer:
				fired.Store(true)
				cancel()
			case <-stop:
			}
		}()
		defer func() {
			close(stop)
			cancel()
			timedOut = err != nil && fired.Load()
		}()
	}
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, Permanent(fmt.Errorf("executor panicked: %v", p))
		}
	}()
	req := Request{RunID: r.opts.RunID, Step: st, Input: input, Attempt: n, SetJobID: setJobID}
	if n == 1 {
		req.ResumeJobID = r.reattach[i]
	}
	res, err = r.exec.Execute(actx, req)
	return res, false, err
}

// reused asks Options.Reuse, before step i's first attempt, whether a job an earlier run
// paid for stands for it: then the step is reused (its result and job are that job's, no
// attempt is made) and reused reports true. A job still being made for it is waited for by
// the first attempt (Request.ResumeJobID) instead of a new one.
func (r *Runner) reused(ctx context.Context, i int) bool {
	if r.opts.Reuse == nil {
		return false
	}
	in, err := r.resolve(i)
	if err != nil {
		return false // the attempt fails it, as without Reuse
	}
	r.input[i] = in
	got := r.opts.Reuse(ctx, &r.p.Steps[i], maps.Clone(in))
	if got.JobID == "" || got.Result == nil {
		if got.Attach != "" {
			r.reattach[i] = got.Attach
		}
		return false
	}
	r.input[i] = nil
	r.outcome[i] = outcome{status: run.StepCompleted}
	r.setStep(i, func(s *run.Step, now time.Time) run.Event {
		s.Status, s.JobID, s.Result, s.Error, s.CompletedAt = run.StepReused, got.JobID, got.Result, "", now
		return run.Event{JobID: got.JobID}
	})
	return true
}

// resolve builds the input of step i: a copy of its input with input_map applied as the
// server does it.
func (r *Runner) resolve(i int) (map[string]any, error) {
	st := &r.p.Steps[i]
	in := make(map[string]any, len(st.Input)+len(st.InputMap))
	maps.Copy(in, st.Input)
	if len(st.InputMap) == 0 {
		return in, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, key := range slices.Sorted(maps.Keys(st.InputMap)) {
		expr := st.InputMap[key]
		ref, ok := pipeline.ParseRef(expr)
		if !ok {
			return nil, Permanent(errors.New("invalid_input_map_expression:" + expr))
		}
		j, ok := r.graph.Index(ref.Step)
		if !ok || !r.state.Steps[j].Status.Succeeded() {
			return nil, Permanent(errors.New("missing_input_map_source:" + ref.Step))
		}
		// As on the server, a path that leads nowhere is undefined: the key is absent (and
		// replaces a value of input), while a null it leads to stays null, which the
		// action's schema refuses even for an optional input.
		if v, found := walkPath(r.state.Steps[j].Result, ref.Path); found {
			in[key] = v
		} else {
			delete(in, key)
		}
	}
	return in, nil
}

// walkPath follows path through nested objects; anything else on the way, or a missing
// key, is not found (the server has no array indexes).
func walkPath(result map[string]any, path []string) (any, bool) {
	if result == nil {
		return nil, false
	}
	var v any = result
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
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
	now := r.clock.Now()
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
	now := r.clock.Now()
	r.state.Status, r.state.UpdatedAt = status, now
	r.mu.Unlock()
	if obs != nil {
		obs(run.Event{Time: now, RunID: r.opts.RunID, Status: string(status)})
	}
}
