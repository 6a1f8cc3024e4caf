package run

import (
	"strings"
	"time"
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
		if prev != nil {
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

// JobResult maps a finished Pi job to the step result the server records, so a pipeline
// gives the same results whichever side runs it (PI-API.md, "Step results"):
// an extraction -> {job_id, brand_id, result_url}, an ad -> {job_id, image_url, result_url}.
// brand_id is parsed from a result_url of the form brands/<id> and is nil otherwise.
func JobResult(jobID, jobType, resultURL string, payload map[string]any) map[string]any {
	res := map[string]any{"job_id": jobID, "result_url": nilIfEmpty(resultURL)}
	if jobType == "brand_extraction" {
		var brand any
		if id, ok := strings.CutPrefix(resultURL, "brands/"); ok && id != "" && !strings.Contains(id, "/") {
			brand = id
		}
		res["brand_id"] = brand
		return res
	}
	var image any
	if v, ok := payload["image_url"].(string); ok && v != "" {
		image = v
	}
	res["image_url"] = image
	return res
}

// FailedJobResult is the result the server records for a step whose job failed.
func FailedJobResult(jobID, errorLog string) map[string]any {
	return map[string]any{"job_id": jobID, "error_log": nilIfEmpty(errorLog)}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
