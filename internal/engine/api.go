// Package engine executes a validated pipeline as a DAG: scheduling, concurrency, retries,
// timeouts, cancellation and resume. It knows nothing of HTTP, terminals or cobra.
package engine

import (
	"context"
	"time"

	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// Executor runs one attempt of one step.
type Executor interface {
	// Execute runs the step with its input already resolved (input_map applied) and returns
	// the step's result. An error is permanent unless it is (or wraps) a *StepError whose
	// Transient is true.
	Execute(ctx context.Context, req Request) (map[string]any, error)
}

// ExecutorFunc adapts a function to Executor.
type ExecutorFunc func(ctx context.Context, req Request) (map[string]any, error)

// Execute calls f.
func (f ExecutorFunc) Execute(ctx context.Context, req Request) (map[string]any, error) {
	return f(ctx, req)
}

// Request is what an executor is given for one attempt.
type Request struct {
	RunID   string
	Step    *pipeline.Step
	Input   map[string]any // Step.Input with params substituted and input_map applied
	Attempt int            // 1-based
	// SetJobID records the id of the remote job the attempt created (shown as the step's
	// job_id); executors that create no job never call it. Safe to call from any goroutine.
	SetJobID func(id string)
	// ResumeJobID, on the first attempt of a resumed step, is the job an interrupted earlier
	// run of this step had started (the run was cancelled or its pi killed while the job
	// went on). An executor that can should wait for that job instead of starting another.
	ResumeJobID string
	// SetCreationKey records the Idempotency-Key of the job creation the attempt is about
	// to send, and returns once the record is saved (Options.Saved), so that a pi killed
	// while the creation is under way leaves the key behind (run.Step.CreationKey); ""
	// clears it once the creation was answered without a job. An error means ctx ended.
	SetCreationKey func(ctx context.Context, key string) error
	// ResumeCreationKey, on the first attempt of a resumed step, is the Idempotency-Key of
	// a creation an earlier run of this step sent without getting its answer: a job may
	// exist. An executor sends the same key again (an endpoint that honours it hands back
	// that job), and does not send one it knows the endpoint ignores.
	ResumeCreationKey string
}

// StepError is an executor error that says whether retrying may help.
type StepError struct {
	Err        error
	Transient  bool
	RetryAfter time.Duration // the server's hint, 0 when none
	// Result is recorded as the step's result when the step ends failed with this error
	// (the server records {job_id, error_log} for a failed job).
	Result map[string]any
}

func (e *StepError) Error() string { return e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// Transient wraps err as a transient failure.
func Transient(err error) error { return &StepError{Err: err, Transient: true} }

// Permanent wraps err as a permanent failure.
func Permanent(err error) error { return &StepError{Err: err} }

// Reused is what Options.Reuse found for a step.
type Reused struct {
	JobID  string
	Result map[string]any
	// Attach is a job still being made for the step, to wait for.
	Attach string
}

// Scheduler decides when the steps of a run start (Options.Scheduler). It is given the
// run's steps and returns when no step will start any more, with the run's final status.
// Without one a run is scheduled eagerly: a step starts the moment its last dependency
// completed, up to Options.Concurrency at once. The simulated server brings its own (the
// Pi server's waves).
type Scheduler interface {
	Schedule(ctx context.Context, s *Steps) run.Status
}

// Options configure a run.
type Options struct {
	RunID       string      // required
	Scheduler   Scheduler   // nil: eager
	Concurrency int         // steps executing at once under eager scheduling; <= 0 means unlimited
	FailFast    bool        // cancel everything still running or waiting after the first failure
	Clock       clock.Clock // nil: the wall clock
	// DefaultRetry applies to steps without a retry block (nil: backoff.StepAttempts
	// attempts from backoff.StepBase).
	DefaultRetry *pipeline.Retry
	// MaxBackoff caps the exponential backoff (0: backoff.StepMax).
	MaxBackoff time.Duration
	// Resume, when set, is an earlier run of the same pipeline: its completed steps keep
	// their results and are not executed again; the rest run again.
	Resume *run.Run
	// Reuse, when set, is asked before each step's first attempt, with its input resolved,
	// whether a job an earlier run paid for can stand for it (the step cache): a Reused
	// with a result (and its job, "" for a local action's) makes the step reused without
	// an attempt; one with Attach
	// makes the first attempt wait for that job (being made by an earlier pi) instead of
	// starting another. It is called from the engine's goroutines, several at once.
	Reuse func(ctx context.Context, step *pipeline.Step, input map[string]any) Reused
	// Observer receives every transition, in order for each step. It is called from the
	// engine's goroutines one at a time and must not block for long. A step event carries
	// the step's state after it (Event.Step, a copy, and Event.Index): applied in order with
	// run.Run.Apply to the run Runner.Snapshot shows before Run starts, the events give the
	// run as it is, so an observer never needs a snapshot per event (a snapshot copies every
	// step: quadratic over a big run). It may still call Runner.Snapshot (which then shows
	// exactly the state after the event) but nothing that changes the run. Steps kept from
	// Resume report no events.
	Observer func(run.Event)
	// Saved, when set, waits until every transition given to Observer so far is saved
	// (store.Recorder.Flush): Request.SetCreationKey returns only then.
	Saved func(ctx context.Context) error
}
