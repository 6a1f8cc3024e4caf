package waves

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/reuse"
	"github.com/pi-cli/pi/internal/run"
)

// ServerRun is one wave's run on the server.
type ServerRun struct {
	Wave int // from 1
	// ID is the server's run id, "" until the server created it.
	ID    string
	Steps []string
	// Status is the server run's last known status, "" while not created.
	Status run.Status
	// MayExist: its creation was sent but got no answer (cut off, or an answer that does
	// not say): the server may have created it.
	MayExist bool
}

// Options are how Run submits and follows the waves.
type Options struct {
	Client *piapi.Client
	// Interval is the long-poll of each server run (piapi.FollowOptions); Deadline is
	// --timeout, which bounds the creations too (zero: none).
	Interval time.Duration
	Deadline time.Time
	// Observe gets every transition of the logical run, in order, one at a time; a step
	// event carries the step's state and index (Event.Step, Event.Index), as a
	// store.Recorder wants it.
	Observe func(run.Event)
	// Warn gets the transient problems that following retries.
	Warn func(msg string)
	// ServerRuns is told of the server runs whenever one is created or ends (to record
	// them), with their state then; nil for none.
	ServerRuns func([]ServerRun)
	// Created is told of each server run the server created, with the steps it runs
	// (before it is followed); nil for none.
	Created func(runID string, steps []string)
}

// CreateError is a wave whose server run could not be created.
type CreateError struct {
	Wave int // from 1
	Err  error
}

func (e *CreateError) Error() string {
	return fmt.Sprintf("create the server run of wave %d: %v", e.Wave, e.Err)
}
func (e *CreateError) Unwrap() error { return e.Err }

// Result is how a logical run stands when Run returns.
type Result struct {
	Run        *run.Run
	ServerRuns []ServerRun
}

// GoingOn are the server runs created that had not ended when pi stopped following them:
// they go on on the server.
func (r *Result) GoingOn() []ServerRun {
	var out []ServerRun
	for _, sr := range r.ServerRuns {
		if sr.ID != "" && !sr.Status.Terminal() {
			out = append(out, sr)
		}
	}
	return out
}

// Run runs the steps of p (expanded, params applied, as sent) in the waves of plan (Cut
// of p's graph) as one logical run: start is that run as it starts (p's steps, and any
// others already settled, such as steps reused from earlier jobs: they keep their
// state). A wave is created as soon as the waves it needs completed, its inputs from them
// passed as literals (reuse.Rewrite), and followed (piapi.Follow) side by side with the
// others. A wave that fails stops the waves not yet created: their steps end skipped.
// The logical run is completed when every wave completed, failed otherwise.
//
// It returns the logical run as it stands. The error says why following stopped before
// the end: ctx's error (interrupted), piapi.ErrFollowTimeout (the deadline), a
// *CreateError, or the error that ended following a server run; the server runs created
// go on (Result.GoingOn).
func Run(ctx context.Context, p *pipeline.Pipeline, plan *Plan, start *run.Run, o Options) (*Result, error) {
	d := &driver{p: p, plan: plan, o: o, r: start.Clone(), index: map[string]int{}, done: make([]chan struct{}, len(plan.Waves)),
		srs: make([]ServerRun, len(plan.Waves))}
	for i := range d.r.Steps {
		d.index[d.r.Steps[i].ID] = i
	}
	for w, wv := range plan.Waves {
		d.done[w] = make(chan struct{})
		d.srs[w] = ServerRun{Wave: w + 1, Steps: d.ids(wv.Steps)}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !o.Deadline.IsZero() {
		wctx, cancel = context.WithDeadline(wctx, o.Deadline)
		defer cancel()
	}
	d.stop = cancel
	d.setStatus(run.InProgress)
	var wg sync.WaitGroup
	for w := range plan.Waves {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(d.done[w])
			d.wave(wctx, w)
		}()
	}
	wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	res := &Result{Run: d.r.Clone(), ServerRuns: append([]ServerRun(nil), d.srs...)}
	if d.err != nil {
		switch {
		case ctx.Err() != nil:
			return res, ctx.Err()
		case errors.Is(d.err, piapi.ErrFollowTimeout) || !o.Deadline.IsZero() && !time.Now().Before(o.Deadline):
			return res, piapi.ErrFollowTimeout
		}
		return res, d.err
	}
	status := run.Completed
	for _, sr := range d.srs {
		if sr.Status != run.Completed {
			status = run.Failed
		}
	}
	d.setStatusLocked(status)
	res.Run = d.r.Clone()
	return res, nil
}

// driver is the state of one logical run.
type driver struct {
	p     *pipeline.Pipeline
	plan  *Plan
	o     Options
	index map[string]int // step id -> index in r.Steps
	done  []chan struct{}
	stop  context.CancelFunc

	mu  sync.Mutex
	r   *run.Run
	srs []ServerRun
	// failed is the first wave that failed (from 1), 0 while none: no later wave is sent.
	failed int
	// err is the first error that stopped following.
	err error
}

func (d *driver) ids(vs []int) []string {
	out := make([]string, len(vs))
	for k, v := range vs {
		out[k] = d.p.Steps[v].ID
	}
	return out
}

// wave waits for the waves w needs, then creates and follows its server run, unless a
// wave failed or following stopped meanwhile.
func (d *driver) wave(ctx context.Context, w int) {
	for _, a := range d.plan.Waves[w].After {
		select {
		case <-d.done[a]:
		case <-ctx.Done():
			d.stopped(ctx.Err())
			return
		}
	}
	d.mu.Lock()
	if d.err != nil {
		d.mu.Unlock()
		return
	}
	if d.failed > 0 {
		d.skipLocked(w, fmt.Sprintf("not sent: wave %d failed", d.failed), nil)
		d.mu.Unlock()
		return
	}
	sent, refused := d.bodyLocked(w)
	if refused != nil {
		d.failed = w + 1
		d.skipLocked(w, "not sent: a step of its wave cannot take its input", refused)
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	body, err := sent.RunsBody()
	if err != nil {
		d.stopped(&CreateError{Wave: w + 1, Err: err})
		return
	}
	created, err := d.o.Client.CreateRun(ctx, body)
	if err != nil {
		var st *piapi.StoppedError
		var ae *piapi.Error
		if errors.As(err, &st) && st.Last != nil && st.Last.MayExist || errors.As(err, &ae) && ae.MayExist {
			d.mu.Lock()
			d.srs[w].MayExist = true
			d.toldLocked()
			d.mu.Unlock()
		}
		d.stopped(&CreateError{Wave: w + 1, Err: err})
		return
	}
	shown := CreatedRun(sent, created)
	d.mu.Lock()
	d.srs[w].ID, d.srs[w].Status = created.RunID, shown.Status
	d.toldLocked()
	d.mu.Unlock()
	if d.o.Created != nil {
		d.o.Created(created.RunID, d.srs[w].Steps)
	}
	last, err := d.o.Client.Follow(ctx, created.RunID, shown, &waveObserver{d: d, w: w}, piapi.FollowOptions{Interval: d.o.Interval, Deadline: d.o.Deadline})
	if err != nil {
		d.stopped(err)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.srs[w].Status = last.Status
	if last.Status != run.Completed && d.failed == 0 {
		d.failed = w + 1
	}
	d.toldLocked()
}

// stopped records why following stopped (the first reason) and stops every wave.
func (d *driver) stopped(err error) {
	d.mu.Lock()
	if d.err == nil {
		d.err = err
	}
	d.mu.Unlock()
	d.stop()
}

// bodyLocked is the pipeline wave w sends: its steps, each input taken from a step of an
// earlier wave passed as a literal (reuse.Rewrite of the wave and the steps it takes
// from, their results known). refused, when not nil, are the steps of the wave whose
// input cannot be passed (by id, why): the wave cannot be sent.
func (d *driver) bodyLocked(w int) (sent *pipeline.Pipeline, refused map[string]string) {
	in := map[string]bool{}
	for _, v := range d.plan.Waves[w].Steps {
		in[d.p.Steps[v].ID] = true
	}
	need := map[string]bool{}
	for _, v := range d.plan.Waves[w].Steps {
		st := &d.p.Steps[v]
		for _, dep := range st.DependsOn {
			need[dep] = !in[dep]
		}
		for _, expr := range st.InputMap {
			if ref, ok := pipeline.ParseRef(expr); ok && !in[ref.Step] {
				need[ref.Step] = true
			}
		}
	}
	sub := &pipeline.Pipeline{Name: d.p.Name, Metadata: d.p.Metadata}
	known := map[string]reuse.Known{}
	for i := range d.p.Steps {
		st := &d.p.Steps[i]
		if in[st.ID] || need[st.ID] {
			sub.Steps = append(sub.Steps, *st)
		}
		if need[st.ID] {
			s := &d.r.Steps[d.index[st.ID]]
			known[st.ID] = reuse.Known{JobID: s.JobID, Result: s.Result}
		}
	}
	pl := reuse.Rewrite(sub, known)
	if len(pl.Forced) == 0 {
		return pl.Pipeline, nil
	}
	// A result an earlier wave made that a step cannot take (a missing or null value, one
	// its contract refuses): the step fails as it would on the server, with the reason.
	refused = map[string]string{}
	forced := map[string]string{}
	for _, f := range pl.Forced {
		forced[f.Step] = f.Reason
	}
	for _, v := range d.plan.Waves[w].Steps {
		st := &d.p.Steps[v]
		for _, expr := range st.InputMap {
			if ref, ok := pipeline.ParseRef(expr); ok && forced[ref.Step] != "" {
				refused[st.ID] = forced[ref.Step]
			}
		}
	}
	return nil, refused
}

// skipLocked ends the steps of wave w that was not sent: those in failed as failed with
// their reason, the others skipped with why.
func (d *driver) skipLocked(w int, why string, failed map[string]string) {
	for _, id := range d.srs[w].Steps {
		i := d.index[id]
		s := d.r.Steps[i]
		s.Status, s.Error = run.StepSkipped, why
		if reason, ok := failed[id]; ok {
			s.Status, s.Error = run.StepFailed, reason
		}
		d.stepLocked(i, s, time.Now())
	}
}

// stepLocked sets step i of the logical run to s and tells the observer.
func (d *driver) stepLocked(i int, s run.Step, at time.Time) {
	s.DependsOn = d.r.Steps[i].DependsOn // the pipeline's, not the body's
	d.r.Steps[i] = s
	if d.o.Observe == nil {
		return
	}
	c := s
	d.o.Observe(run.Event{Time: at, RunID: d.r.ID, StepID: s.ID, Status: string(s.Status), JobID: s.JobID, Error: s.Error, Step: &c, Index: i})
}

func (d *driver) setStatus(st run.Status) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setStatusLocked(st)
}

func (d *driver) setStatusLocked(st run.Status) {
	now := time.Now()
	d.r.Status, d.r.UpdatedAt = st, now
	if d.o.Observe != nil {
		d.o.Observe(run.Event{Time: now, RunID: d.r.ID, Status: string(st)})
	}
}

// toldLocked tells the caller of the server runs as they are now.
func (d *driver) toldLocked() {
	if d.o.ServerRuns != nil {
		d.o.ServerRuns(append([]ServerRun(nil), d.srs...))
	}
}

// waveObserver takes what Follow sees of one server run into the logical run.
type waveObserver struct {
	d *driver
	w int
}

func (o *waveObserver) Start(r *run.Run) { o.apply(r, nil) }

func (o *waveObserver) Event(e run.Event, r *run.Run) { o.apply(r, &e) }

func (o *waveObserver) Warn(msg string) {
	if o.d.o.Warn != nil {
		o.d.o.Warn(fmt.Sprintf("wave %d: %s", o.w+1, msg))
	}
}

// apply takes the server run's step of e (every step without e) into the logical run.
func (o *waveObserver) apply(r *run.Run, e *run.Event) {
	d := o.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if e == nil || e.StepID == "" {
		d.srs[o.w].Status = r.Status
		if e != nil {
			return
		}
	}
	for k := range r.Steps {
		s := r.Steps[k]
		i, ok := d.index[s.ID]
		if !ok || e != nil && s.ID != e.StepID {
			continue
		}
		at := time.Now()
		if e != nil {
			at = e.Time
		}
		d.stepLocked(i, s, at)
	}
}

// CreatedRun is the run as its create answer describes it, completed from the pipeline
// sent (actions, dependencies), so it is on screen before the first long-poll answers.
func CreatedRun(sent *pipeline.Pipeline, created *piapi.CreatedRun) *run.Run {
	// The server's created_at comes with the first poll; until then the age counts from
	// now. The record keeps this moment to the millisecond, as it does for local runs and
	// runs whose every step was reused: cut to whole seconds, a run created in the same
	// second as an earlier one of those listed before it (pi runs list is newest first).
	r := &run.Run{ID: created.RunID, Status: run.Status(created.Status), CreatedAt: time.Now()}
	if r.Status == "" {
		r.Status = run.Pending
	}
	status := map[string]string{}
	for _, s := range created.Steps {
		status[s.ID] = s.Status
	}
	for _, s := range sent.Steps {
		st := run.StepStatus(status[s.ID])
		if st == "" {
			st = run.StepPending
		}
		r.Steps = append(r.Steps, run.Step{ID: s.ID, Action: s.Action, Status: st, DependsOn: s.DependsOn})
	}
	return r
}
