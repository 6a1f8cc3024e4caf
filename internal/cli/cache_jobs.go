package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/piapi"
)

// cacheJobs lets the step cache ask a Pi API (or the sandbox) about the jobs it holds.
type cacheJobs struct {
	c *piapi.Client
	// sandbox is the origin of the in-process sandbox the client talks to, "" for a Pi API:
	// a job an earlier sandbox made has its image at this one's address.
	sandbox string
}

// cacheWait is how long one long-poll of a verification may wait on the server.
const cacheWait = 20 * time.Second

// gone reports an answer saying the server has no such job or run (404), or that the id
// is not one it could have made (400 invalid_job_id, invalid_run_id).
func gone(err error) bool {
	var ae *piapi.Error
	return errors.As(err, &ae) && (ae.HTTPStatus == http.StatusNotFound ||
		ae.HTTPStatus == http.StatusBadRequest && (ae.Code == "invalid_job_id" || ae.Code == "invalid_run_id"))
}

func (j cacheJobs) Job(ctx context.Context, id string, wait bool) (*cache.Job, error) {
	job, err := j.c.GetJob(ctx, id, wait, cacheWait, "")
	if gone(err) {
		return nil, fmt.Errorf("%w: %v", cache.ErrNoJob, err)
	}
	if err != nil {
		return nil, err
	}
	out := &cache.Job{ID: job.ID, Type: job.Type, Status: string(job.Status), ResultURL: job.ResultURL, Payload: job.Payload}
	if u, moved := rehostURL(out.ResultURL, j.sandbox); moved {
		out.ResultURL = u
	}
	if v, ok := out.Payload["image_url"].(string); ok {
		if u, moved := rehostURL(v, j.sandbox); moved {
			out.Payload = maps.Clone(out.Payload)
			out.Payload["image_url"] = u
		}
	}
	return out, nil
}

func (j cacheJobs) RunStep(ctx context.Context, runID, step string, wait bool) (string, string, error) {
	r, err := j.c.GetRun(ctx, runID, wait, cacheWait)
	if gone(err) {
		return "", "", fmt.Errorf("%w: %v", cache.ErrNoJob, err)
	}
	if err != nil {
		return "", "", err
	}
	s := r.Step(step)
	if s == nil {
		return "", "", fmt.Errorf("run %s has no step %s: %w", runID, step, cache.ErrNoJob)
	}
	status := string(s.Status)
	if r.Status.Terminal() && !s.Status.Terminal() {
		status = "not run" // a failed run leaves steps pending that will never start
	}
	return status, s.JobID, nil
}
