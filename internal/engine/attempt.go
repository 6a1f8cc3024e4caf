package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"time"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// attemptStep runs the next attempt of queued step i (the caller holds a slot) and records
// the outcome. When the attempt failed and may be retried, the step goes back to queued
// and attemptStep returns the wait before the next attempt and true.
func (r *Runner) attemptStep(ctx context.Context, i int) (wait time.Duration, retry bool) {
	if ctx.Err() != nil {
		r.finishUnrun(i, run.StepCancelled, "")
		return 0, false
	}
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
	switch {
	case err == nil:
		r.completed(i, res)
		return 0, false
	case ctx.Err() != nil:
		r.finishUnrun(i, run.StepCancelled, "")
		return 0, false
	}
	return r.failed(i, attempt, err, timedOut)
}

// completed records step i's result.
func (r *Runner) completed(i int, res map[string]any) {
	r.outcome[i] = outcome{status: run.StepCompleted}
	r.setStep(i, func(s *run.Step, now time.Time) run.Event {
		s.Status, s.Result, s.Error, s.CompletedAt = run.StepCompleted, res, "", now
		return run.Event{}
	})
}

// failed records attempt n of step i failing with err: queued again with the wait before
// the next attempt when it is transient (or timed out) and attempts are left, else failed
// for good (with the result the error carries, and the run cancelled under FailFast).
func (r *Runner) failed(i, n int, err error, timedOut bool) (wait time.Duration, retry bool) {
	st := &r.p.Steps[i]
	var se *StepError
	errors.As(err, &se)
	transient := timedOut || (se != nil && se.Transient)
	if timedOut {
		err = fmt.Errorf("timeout: attempt %d ran longer than %s", n, st.Timeout)
	}
	msg := err.Error()
	if pol := r.retryFor(st); transient && n < pol.MaxAttempts {
		var hint time.Duration
		if se != nil && !timedOut {
			hint = se.RetryAfter
		}
		wait := backoff.Policy{Base: pol.Backoff, Max: r.opts.MaxBackoff, Min: MinRetryWait}.Wait(n, r.rand(), hint)
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

// attempt calls the executor once, under the step's timeout when it has one.
func (r *Runner) attempt(ctx context.Context, i int, input map[string]any, n int) (res map[string]any, timedOut bool, err error) {
	st := &r.p.Steps[i]
	setJobID := func(id string) {
		r.setStep(i, func(s *run.Step, _ time.Time) run.Event {
			s.JobID, s.CreationKey = id, "" // answered: the job is known
			return run.Event{}
		})
	}
	actx := ctx
	if st.Timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithCancel(ctx)
		var fired atomic.Bool
		stop := make(chan struct{})
		timer := r.opts.Clock.After(st.Timeout)
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
	req := Request{RunID: r.opts.RunID, Step: st, Input: input, Attempt: n, SetJobID: setJobID, SetCreationKey: r.creationKeySetter(i)}
	if n == 1 {
		c := r.carriedOf(i)
		req.ResumeJobID, req.ResumeCreationKey = c.jobID, c.creationKey
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
	if got.Result == nil {
		if got.Attach != "" {
			r.carryOver(i, func(c *carried) { c.jobID = got.Attach })
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

// creationKeySetter is Request.SetCreationKey for step i: the key (a new creation: the
// step has no job yet) is saved before the creation is sent.
func (r *Runner) creationKeySetter(i int) func(ctx context.Context, key string) error {
	return func(ctx context.Context, key string) error {
		r.setStep(i, func(s *run.Step, _ time.Time) run.Event {
			if key != "" {
				s.JobID = ""
			}
			s.CreationKey = key
			return run.Event{}
		})
		if key == "" || r.opts.Saved == nil {
			return nil
		}
		return r.opts.Saved(ctx)
	}
}
