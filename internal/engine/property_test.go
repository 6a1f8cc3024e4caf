package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// plan is what a random step does on each attempt.
type plan struct {
	durations []time.Duration // of attempt i (the last one repeats)
	transient int             // attempts failing transiently before the rest
	permanent bool            // the attempt after the transient ones fails for good
	hint      time.Duration   // RetryAfter of the transient failures
}

type dagCase struct {
	seed     uint64
	p        *pipeline.Pipeline
	plans    map[string]plan
	deps     map[string][]string
	opts     Options
	children map[string][]string
}

func randomDAG(seed uint64) dagCase {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	n := 1 + rng.IntN(200)
	if rng.IntN(3) > 0 { // most graphs are small, some are up to 200 steps
		n = 1 + rng.IntN(40)
	}
	c := dagCase{seed: seed, p: &pipeline.Pipeline{}, plans: map[string]plan{}, deps: map[string][]string{}, children: map[string][]string{}}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("s%03d", i)
	}
	width := 1 + rng.IntN(8) // how far back dependencies reach: chains to bushy graphs
	failRate := rng.IntN(4) * 5
	for i, id := range ids {
		st := pipeline.Step{ID: id, Action: "campaigns.generate"}
		seen := map[int]bool{}
		for k := rng.IntN(4); k > 0 && i > 0; k-- {
			j := i - 1 - rng.IntN(min(i, width))
			if !seen[j] {
				seen[j] = true
				st.DependsOn = append(st.DependsOn, ids[j])
				c.children[ids[j]] = append(c.children[ids[j]], id)
			}
		}
		if rng.IntN(4) == 0 {
			st.Retry = &pipeline.Retry{MaxAttempts: 1 + rng.IntN(4), Backoff: time.Duration(rng.IntN(3000)) * time.Millisecond}
		}
		pl := plan{}
		for a := 0; a < 5; a++ {
			pl.durations = append(pl.durations, time.Duration(rng.IntN(10_000))*time.Millisecond)
		}
		if rng.IntN(100) < 20 {
			pl.transient = 1 + rng.IntN(3)
			if rng.IntN(3) == 0 {
				pl.hint = time.Duration(rng.IntN(5)) * time.Second
			}
		}
		pl.permanent = rng.IntN(100) < failRate
		c.plans[id] = pl
		c.deps[id] = st.DependsOn
		c.p.Steps = append(c.p.Steps, st)
	}
	// Declaration order need not be topological.
	rng.Shuffle(len(c.p.Steps), func(i, j int) { c.p.Steps[i], c.p.Steps[j] = c.p.Steps[j], c.p.Steps[i] })
	c.opts = Options{RunID: fmt.Sprintf("run-%d", seed), DefaultRetry: &pipeline.Retry{MaxAttempts: 3, Backoff: 500 * time.Millisecond},
		MaxBackoff: 4 * time.Second}
	if rng.IntN(2) == 0 {
		c.opts.Concurrency = 1 + rng.IntN(8)
	}
	c.opts.FailFast = rng.IntN(8) == 0
	return c
}

// TestPropertyRandomDAGs runs random graphs with random durations, transient and permanent
// failures, and checks the engine's promises on each.
func TestPropertyRandomDAGs(t *testing.T) {
	const graphs = 500
	for seed := uint64(1); seed <= graphs; seed++ {
		c := randomDAG(seed)
		synctest.Test(t, func(t *testing.T) { checkDAG(t, c) })
		if t.Failed() {
			t.Fatalf("seed %d failed (concurrency %d, fail-fast %v, %d steps)", seed, c.opts.Concurrency, c.opts.FailFast, len(c.p.Steps))
		}
	}
}

func checkDAG(t *testing.T, c dagCase) {
	var (
		mu        sync.Mutex
		completed = map[string]time.Time{} // from the observer
		attempts  = map[string]int{}
		running   int
		maxRun    int
		events    = map[string][]run.Event{}
		runEvents []run.Event
	)
	exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
		id := req.Step.ID
		mu.Lock()
		for _, d := range c.deps[id] {
			if _, ok := completed[d]; !ok {
				t.Errorf("%s attempt %d started before its dependency %s completed", id, req.Attempt, d)
			}
		}
		attempts[id]++
		if attempts[id] != req.Attempt {
			t.Errorf("%s: execution %d reported as attempt %d (an attempt ran twice or was skipped)", id, attempts[id], req.Attempt)
		}
		running++
		maxRun = max(maxRun, running)
		mu.Unlock()
		defer func() {
			mu.Lock()
			running--
			mu.Unlock()
		}()
		pl := c.plans[id]
		d := pl.durations[min(req.Attempt, len(pl.durations))-1]
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch {
		case req.Attempt <= pl.transient:
			return nil, &StepError{Err: fmt.Errorf("transient %d", req.Attempt), Transient: true, RetryAfter: pl.hint}
		case pl.permanent:
			return nil, Permanent(fmt.Errorf("permanent"))
		}
		return map[string]any{"step": id}, nil
	})
	opts := c.opts
	var (
		r      *Runner
		mirror *run.Run // the snapshot before Run, with every event applied to it
	)
	seen := 0
	opts.Observer = func(ev run.Event) {
		mu.Lock()
		defer mu.Unlock()
		if ev.StepID != "" && (ev.Step == nil || ev.Step.ID != ev.StepID || ev.Step.Attempts != ev.Attempt || ev.Step.JobID != ev.JobID) {
			t.Errorf("event %+v carries step %+v", ev, ev.Step)
		}
		if !mirror.Apply(ev) {
			t.Errorf("event %+v does not apply to the run", ev)
		}
		// The observer may take a snapshot; it shows exactly the state after this event,
		// since no transition happens while an observer runs.
		if seen++; seen%5 == 0 && ev.StepID != "" {
			want := run.StepStatus(ev.Status)
			if ev.RetryIn > 0 {
				want = run.StepQueued
			}
			if s := r.Snapshot().Step(ev.StepID); s.Status != want || s.JobID != ev.JobID || s.Attempts != ev.Attempt {
				t.Errorf("snapshot in the observer shows %s %s attempt %d, event says %s attempt %d", s.ID, s.Status, s.Attempts, ev.Status, ev.Attempt)
			}
		}
		if ev.StepID == "" {
			runEvents = append(runEvents, ev)
			return
		}
		if ev.Status == string(run.StepCompleted) {
			completed[ev.StepID] = ev.Time
		}
		events[ev.StepID] = append(events[ev.StepID], ev)
	}
	r, err := build(c.p, exec, opts)
	if err != nil {
		t.Fatal(err)
	}
	mirror = r.Snapshot()
	start := time.Now()
	got, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now()

	// The events alone rebuild the run: an observer needs no snapshot.
	if mirror.Status != got.Status || !reflect.DeepEqual(mirror.Steps, got.Steps) {
		t.Errorf("the events applied to the first snapshot give\n%+v\nthe run is\n%+v", mirror, got)
	}

	if !got.Status.Terminal() {
		t.Errorf("run status %s is not terminal", got.Status)
	}
	if len(runEvents) != 2 || runEvents[0].Status != string(run.InProgress) || runEvents[1].Status != string(got.Status) {
		t.Errorf("run events %v, want in_progress then %s", runEvents, got.Status)
	}
	if limit := c.opts.Concurrency; limit > 0 && maxRun > limit {
		t.Errorf("%d steps executed at once, limit %d", maxRun, limit)
	}
	anyFailed, allCompleted := false, true
	for _, s := range got.Steps {
		anyFailed = anyFailed || s.Status == run.StepFailed
		allCompleted = allCompleted && s.Status == run.StepCompleted
		if s.Attempts != attempts[s.ID] {
			t.Errorf("%s: %d attempts recorded, %d executed", s.ID, s.Attempts, attempts[s.ID])
		}
		checkStepEvents(t, s, events[s.ID])
		if !s.Status.Terminal() {
			t.Errorf("%s ended %s", s.ID, s.Status)
		}
	}
	if (got.Status == run.Completed) != allCompleted || (anyFailed && got.Status != run.Failed) {
		t.Errorf("run %s with all completed=%v, any failed=%v", got.Status, allCompleted, anyFailed)
	}

	// Every dependent of a failure is skipped, naming a failed ancestor, and never ran.
	for _, s := range got.Steps {
		if s.Status != run.StepFailed {
			continue
		}
		for _, d := range descendants(c.children, s.ID) {
			ds := got.Step(d)
			if ds.Status != run.StepSkipped || attempts[d] != 0 {
				t.Errorf("%s, behind failed %s, is %s after %d attempts", d, s.ID, ds.Status, attempts[d])
			}
		}
	}
	for _, s := range got.Steps {
		if s.Status != run.StepSkipped {
			continue
		}
		cause, _ := strings.CutPrefix(s.Error, "dependency_failed:")
		if f := got.Step(cause); f == nil || f.Status != run.StepFailed || !contains(descendants(c.children, cause), s.ID) {
			t.Errorf("%s skipped with %q, which names no failed ancestor", s.ID, s.Error)
		}
	}

	// Eager with no limit: each step starts the moment its last dependency completed, so
	// the makespan is the critical path (attempt durations plus the retry waits) exactly.
	if c.opts.Concurrency > 0 || c.opts.FailFast {
		return
	}
	finish := map[string]time.Duration{}
	var critical time.Duration
	var visit func(id string) time.Duration
	visit = func(id string) time.Duration {
		if f, ok := finish[id]; ok {
			return f
		}
		var ready time.Duration
		for _, d := range c.deps[id] {
			ready = max(ready, visit(d))
		}
		f := ready
		pl := c.plans[id]
		for a := 1; a <= attempts[id]; a++ {
			f += pl.durations[min(a, len(pl.durations))-1]
		}
		for _, ev := range events[id] {
			f += ev.RetryIn
		}
		finish[id] = f
		return f
	}
	for _, s := range got.Steps {
		if attempts[s.ID] == 0 {
			continue
		}
		f := visit(s.ID)
		critical = max(critical, f)
		if at := s.CompletedAt.Sub(start); at != f {
			t.Errorf("%s ended at %v, want %v (its critical path)", s.ID, at, f)
		}
	}
	if makespan := end.Sub(start); makespan != critical {
		t.Errorf("makespan %v, critical path %v", makespan, critical)
	}
}

// checkStepEvents checks that a step's events follow its life cycle and end with its
// final status.
func checkStepEvents(t *testing.T, s run.Step, evs []run.Event) {
	t.Helper()
	state := string(run.StepPending)
	for _, ev := range evs {
		next := ev.Status
		valid := false
		switch state {
		case "pending":
			valid = next == "queued" || next == "skipped" || next == "cancelled"
		case "queued":
			valid = next == "processing" || next == "cancelled"
		case "processing":
			valid = next == "processing" /* job id */ || next == "completed" || next == "failed" || next == "cancelled"
		}
		if ev.RetryIn > 0 {
			next = "queued" // a failed attempt to be retried puts the step back in the queue
		}
		if !valid {
			t.Errorf("%s: %s -> %s is not a valid transition (events %v)", s.ID, state, ev.Status, evs)
			return
		}
		state = next
	}
	if state != string(s.Status) {
		t.Errorf("%s: events end in %s, step is %s", s.ID, state, s.Status)
	}
}

func descendants(children map[string][]string, id string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(string)
	walk = func(id string) {
		for _, c := range children[id] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				walk(c)
			}
		}
	}
	walk(id)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
