package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/piapi"
)

// cacheJobs lets the step cache ask a Pi API (or the sandbox) about the jobs it holds.
type cacheJobs struct{ c *piapi.Client }

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
	return &cache.Job{ID: job.ID, Type: job.Type, Status: string(job.Status), ResultURL: job.ResultURL, Payload: job.Payload}, nil
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
