package cli

import (
	"context"
	"time"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/safe"
)

// childLookupTimeout bounds the one GET /jobs/{id} asked for each opaque failure.
const childLookupTimeout = 10 * time.Second

// explainChildFailures asks the server once, for each failed step whose error is the
// opaque child_job_failed, why its job failed (GET /jobs/{job_id}), and records the job's
// payload.failure_code in the step's result (run.FailureCodeKey) so pi can say it
// ("child_job_failed: source_job_type_invalid"); the step's error stays the server's.
// Best effort: a lookup that fails leaves the step as the server reported it. r is not
// modified; the copy is returned.
func explainChildFailures(ctx context.Context, c *piapi.Client, r *run.Run) *run.Run {
	if r == nil {
		return r
	}
	var out *run.Run
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Status != run.StepFailed || s.Error != run.ChildJobFailed || s.JobID == "" {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, childLookupTimeout)
		j, err := c.GetJob(lctx, s.JobID, false, 0, "")
		cancel()
		if err != nil {
			continue
		}
		code, _ := j.Payload["failure_code"].(string)
		if code = safe.Text(code); code == "" {
			continue
		}
		if out == nil {
			out = r.Clone()
		}
		res := make(map[string]any, len(s.Result)+1)
		for k, v := range out.Steps[i].Result {
			res[k] = v
		}
		res[run.FailureCodeKey] = code
		out.Steps[i].Result = res
	}
	if out == nil {
		return r
	}
	return out
}
