package run

import (
	"time"

	"github.com/pi-cli/pi/internal/catalog"
)

// Diff returns the transitions that turn prev into next, one event per step whose status
// or job id changed, in step order, then a run event when the run's status changed. prev
// may be nil (every step is new). It is how a client that only sees snapshots (GET
// /runs/:id) reports the same events the local engine emits.
func Diff(prev, next *Run, now time.Time) []Event {
	var events []Event
	for i := range next.Steps {
		s := &next.Steps[i]
		var old *Step
		switch {
		case prev == nil:
		case i < len(prev.Steps) && prev.Steps[i].ID == s.ID:
			old = &prev.Steps[i] // the same run read again: its steps keep their order
		default:
			old = prev.Step(s.ID)
		}
		if old != nil && old.Status == s.Status && old.JobID == s.JobID && old.Attempts == s.Attempts {
			continue
		}
		if old == nil && s.Status == StepPending {
			continue
		}
		t := now
		switch {
		case s.Status.Terminal() && !s.CompletedAt.IsZero():
			t = s.CompletedAt
		case s.Status == StepProcessing && !s.StartedAt.IsZero():
			t = s.StartedAt
		}
		events = append(events, Event{
			Time: t, RunID: next.ID, StepID: s.ID, Status: string(s.Status),
			Attempt: s.Attempts, JobID: s.JobID, Error: s.Error,
		})
	}
	if prev == nil || prev.Status != next.Status {
		events = append(events, Event{Time: now, RunID: next.ID, Status: string(next.Status)})
	}
	return events
}

// JobResult maps a finished Pi job to the step result the server records (see
// catalog.StepResult, which owns the mapping).
func JobResult(jobID, jobType, resultURL string, payload map[string]any) map[string]any {
	return catalog.StepResult(jobType, jobID, resultURL, payload)
}

// FailedJobResult is the result the server records for a step whose job failed.
func FailedJobResult(jobID, errorLog string) map[string]any {
	return catalog.FailedStepResult(jobID, errorLog)
}

// FailureCodeKey is the key pi adds to a failed step's result when it learnt why the job
// failed from the job itself (payload.failure_code): the server's step error then says only
// child_job_failed.
const FailureCodeKey = "failure_code"

// ChildJobFailed is the step error of a job that failed without an error log.
const ChildJobFailed = "child_job_failed"
