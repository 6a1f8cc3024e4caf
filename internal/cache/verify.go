package cache

import (
	"context"
	"errors"
	"fmt"

	"github.com/pi-cli/pi/internal/catalog"
)

// Job is what verification needs of a job (GET /api/v1/jobs/{id}).
type Job struct {
	ID, Type, Status, ResultURL string
	Payload                     map[string]any
}

// Jobs reads jobs, and steps of runs, from the server the cache's entries were made on.
type Jobs interface {
	// Job returns the job; with wait the server long-polls until it ends or a bound
	// passes. The error wraps ErrNoJob when the server has no such job (404).
	Job(ctx context.Context, id string, wait bool) (*Job, error)
	// RunStep returns a step of a run: its status and job id ("" before it has one); with
	// wait the server long-polls until the run ends or a bound passes. The error wraps
	// ErrNoJob when the server has no such run.
	RunStep(ctx context.Context, runID, step string, wait bool) (status, jobID string, err error)
}

// ErrNoJob says the server has no such job or run (or none this key may see).
var ErrNoJob = errors.New("no such job")

// Outcome is what verification says of a job.
type Outcome int

const (
	// Miss: nothing is cached or claimed for the step.
	Miss Outcome = iota
	// Reuse: the job exists, completed, of the action's type; its result is the server's.
	Reuse
	// Gone: the job cannot be reused (not found, failed, of another type): drop it.
	Gone
	// Pending: the job is still being made (queued or processing, or its run's step has
	// not started it yet): wait for it rather than pay for another.
	Pending
	// Unverified: the server could not be asked (network, 5xx, timeout). Never a hit: the
	// step pays, and the entry is kept for a later run.
	Unverified
)

// Verdict is verification's outcome, the result to reuse, and why in words.
type Verdict struct {
	Outcome Outcome
	Result  map[string]any
	Reason  string
}

// verify asks the server whether job id can stand for a step of action: it exists, is
// completed and has the action's job type (with wait, the server long-polls a job still
// being made). The result is mapped from the job as the server's step would record it. A
// local action has no job to ask about: Reuse, with no result (the caller keeps its own).
func verify(ctx context.Context, jobs Jobs, action, id string, wait bool) Verdict {
	a, ok := catalog.Lookup(action)
	if !ok {
		return Verdict{Outcome: Gone, Reason: fmt.Sprintf("unknown action %s", action)}
	}
	if a.JobType == "" {
		return Verdict{Outcome: Reuse}
	}
	j, err := jobs.Job(ctx, id, wait)
	switch {
	case errors.Is(err, ErrNoJob):
		return Verdict{Outcome: Gone, Reason: fmt.Sprintf("the server no longer has job %s", id)}
	case err != nil:
		return Verdict{Outcome: Unverified, Reason: fmt.Sprintf("could not check job %s: %v", id, err)}
	case j.Type != a.JobType:
		return Verdict{Outcome: Gone, Reason: fmt.Sprintf("job %s is a %s job, not %s", id, j.Type, a.JobType)}
	case j.Status == "queued" || j.Status == "processing":
		return Verdict{Outcome: Pending, Reason: fmt.Sprintf("job %s is still %s", id, j.Status)}
	case j.Status != "completed":
		return Verdict{Outcome: Gone, Reason: fmt.Sprintf("job %s is %s", id, j.Status)}
	}
	return Verdict{Outcome: Reuse, Result: catalog.StepResult(j.Type, id, j.ResultURL, j.Payload)}
}

// Hit is what the cache holds for a step, verified.
type Hit struct {
	// Entry is the entry reused (Verdict.Outcome Reuse), or the one that was not; nil
	// when the step's job comes from a claim.
	Entry   *Entry
	Verdict Verdict
	// JobID is the job reused, or the one still being made (Pending).
	JobID string
	// Claim is the claim the job came from (a pi killed after making it, or another pi
	// making it now), or nil.
	Claim *Claim
	// Key is where a new job for the step goes: the variant of the entry found, else k's.
	Key Key
}

// Found reports whether the hit is reused.
func (h Hit) Found() bool { return h.Verdict.Outcome == Reuse }

// Find looks k's input up and verifies what it finds with the server: the newest variant
// cached, else a claim (a job an earlier pi made and did not live to record, or one being
// made by another pi). An entry that fails verification is dropped; one that could not be
// verified is kept but not reused. A claimed job that completed is recorded and reused; one
// still being made is Pending (wait for it: Await); one that failed ends the claim. A
// reused entry's result is the server's (a local action's, the one cached). A read-only
// cache finds the same, and keeps the file as it is: nothing dropped, recorded or touched.
func (c *Cache) Find(ctx context.Context, k Key, jobs Jobs) (Hit, error) {
	e, err := c.Latest(ctx, k)
	if err != nil {
		return Hit{Key: k}, err
	}
	if e != nil {
		k.Variant = e.Variant
		v := verify(ctx, jobs, e.Action, e.JobID, false)
		switch v.Outcome {
		case Reuse:
			if v.Result == nil {
				v.Result = e.Result
			}
			return Hit{Entry: e, Verdict: v, JobID: e.JobID, Key: k}, c.upkeep(func() error { return c.Touch(ctx, e.Digest) })
		case Unverified:
			return Hit{Entry: e, Verdict: v, Key: k}, nil
		}
		// An entry's job completed once: anything else is not that job.
		v.Outcome = Gone
		if err := c.upkeep(func() error { return c.Drop(ctx, e.Digest) }); err != nil {
			return Hit{Key: k}, err
		}
		if cl, err := c.Claimed(ctx, k); err != nil || cl == nil {
			return Hit{Entry: e, Verdict: v, Key: k}, err
		}
	}
	return c.findClaim(ctx, k, jobs, false)
}

// upkeep is what Find writes to keep the file true (an entry used, a lost job dropped, a
// claimed job recorded, a dead claim ended): nothing in a read-only cache.
func (c *Cache) upkeep(write func() error) error {
	if c.readOnly {
		return nil
	}
	return write()
}

// Await waits for the job of a Pending hit (and for the run that is to make it), up to
// ctx's deadline, and returns the hit it ends as.
func (c *Cache) Await(ctx context.Context, h Hit, jobs Jobs) (Hit, error) {
	if h.Verdict.Outcome != Pending {
		return h, nil
	}
	for {
		next, err := c.findClaim(ctx, h.Key, jobs, true)
		if err != nil || next.Verdict.Outcome != Pending {
			return next, err
		}
		if err := ctx.Err(); err != nil {
			next.Verdict = Verdict{Outcome: Unverified, Reason: fmt.Sprintf("stopped waiting for %s: %v", next.Verdict.Reason, err)}
			return next, nil
		}
	}
}

// findClaim verifies k's claim: the job it names, else the job its run's step made.
func (c *Cache) findClaim(ctx context.Context, k Key, jobs Jobs, wait bool) (Hit, error) {
	cl, err := c.Claimed(ctx, k)
	if err != nil || cl == nil {
		return Hit{Key: k}, err
	}
	h := Hit{Claim: cl, Key: k, JobID: cl.JobID}
	if h.JobID == "" && cl.RunID != "" {
		status, job, err := jobs.RunStep(ctx, cl.RunID, cl.Step, wait)
		switch {
		case errors.Is(err, ErrNoJob):
			return Hit{Key: k}, c.upkeep(func() error { return c.Release(ctx, k) })
		case err != nil:
			h.Verdict = Verdict{Outcome: Unverified, Reason: fmt.Sprintf("could not check run %s: %v", cl.RunID, err)}
			return h, nil
		case job == "" && (status == "pending" || status == "queued" || status == "processing"):
			h.Verdict = Verdict{Outcome: Pending, Reason: fmt.Sprintf("step %s of run %s is still %s", cl.Step, cl.RunID, status)}
			return h, nil
		case job == "":
			return Hit{Key: k}, c.upkeep(func() error { return c.Release(ctx, k) }) // the step will never make it
		}
		h.JobID = job
	}
	if h.JobID == "" {
		return Hit{Key: k}, nil // a creation whose answer was lost: its key makes the job
	}
	h.Verdict = verify(ctx, jobs, k.Action, h.JobID, wait)
	switch h.Verdict.Outcome {
	case Reuse:
		return h, c.upkeep(func() error { return c.Put(ctx, k, cl.Step, h.JobID, h.Verdict.Result) })
	case Gone:
		return Hit{Key: k, Verdict: h.Verdict}, c.upkeep(func() error { return c.Release(ctx, k) })
	}
	return h, nil
}
