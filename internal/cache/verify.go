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

// Jobs reads jobs from the server the cache's entries were made on.
type Jobs interface {
	// Job returns the job; the error wraps ErrNoJob when the server has no such job (404).
	Job(ctx context.Context, id string) (*Job, error)
}

// ErrNoJob says the server has no such job (or none this key may see).
var ErrNoJob = errors.New("no such job")

// Outcome is what verification says of a job.
type Outcome int

const (
	// Reuse: the job exists, completed, of the action's type; its result is the server's.
	Reuse Outcome = iota
	// Gone: the job cannot be reused (not found, failed, of another type): drop it.
	Gone
	// Pending: the job exists and is still queued or processing (a claim's job).
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

// VerifyJob asks the server whether job id can stand for a step of action: it exists, is
// completed and has the action's job type. The result is mapped from the job as the
// server's step would record it. A local action has no job to ask about: Reuse, with no
// result (the caller keeps its own).
func VerifyJob(ctx context.Context, jobs Jobs, action, id string) Verdict {
	a, ok := catalog.Lookup(action)
	if !ok {
		return Verdict{Outcome: Gone, Reason: fmt.Sprintf("unknown action %s", action)}
	}
	if a.JobType == "" {
		return Verdict{Outcome: Reuse}
	}
	j, err := jobs.Job(ctx, id)
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
	// Entry is the entry reused (Verdict.Outcome Reuse), or the one that was not.
	Entry   *Entry
	Verdict Verdict
	// Key is where a new job for the step goes: the variant of the entry found, else k's.
	Key Key
}

// Found reports whether the hit is reused.
func (h Hit) Found() bool { return h.Entry != nil && h.Verdict.Outcome == Reuse }

// Find looks k's input up (its newest variant) and verifies the job with the server. An
// entry that fails verification is dropped; one that could not be verified is kept but not
// reused. A reused entry's result is the server's (a local action's, the one cached), and
// its use is recorded.
func (c *Cache) Find(ctx context.Context, k Key, jobs Jobs) (Hit, error) {
	e, err := c.Latest(ctx, k)
	if err != nil || e == nil {
		return Hit{Key: k}, err
	}
	k.Variant = e.Variant
	v := VerifyJob(ctx, jobs, e.Action, e.JobID)
	switch v.Outcome {
	case Reuse:
		if v.Result == nil {
			v.Result = e.Result
		}
		return Hit{Entry: e, Verdict: v, Key: k}, c.Touch(ctx, e.Digest)
	case Gone, Pending: // an entry's job completed once: anything else is not that job
		v.Outcome = Gone
		return Hit{Entry: e, Verdict: v, Key: k}, c.Drop(ctx, e.Digest)
	}
	return Hit{Entry: e, Verdict: v, Key: k}, nil
}
