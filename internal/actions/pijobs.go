package actions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/piapi"
)

// jobPollWait is how long one job long-poll may wait on the server.
const jobPollWait = 20 * time.Second

// jobPollFloor is the least time between the starts of two polls of one running job: a
// server that answers a long-poll at once is asked at most once a second per job (8 steps:
// 80 GETs in 10 s, where a tight loop made 84,000). A server that holds the long-poll
// answers at the job's end, which shows at once.
const jobPollFloor = time.Second

// PiJobs is the JobAPI of a Pi API client: the same configuration, retries, User-Agent and
// --debug trace as remote runs. The client's own retries come first; what is left is
// classified for the engine's retry policy (transient: network, 429, 5xx).
func PiJobs(c *piapi.Client) JobAPI { return piJobs{c} }

type piJobs struct{ c *piapi.Client }

func (p piJobs) CreateJob(ctx context.Context, action string, input map[string]any, key string) (string, error) {
	id, err := p.c.CreateJobWithKey(ctx, action, input, key)
	var ae *piapi.Error
	if errors.As(err, &ae) && ae.MayExist && !piapi.HonoursIdempotencyKey(action) {
		// The job may exist and the endpoint would not recognise a second try: retrying
		// could run (and charge for) it twice. The step fails; a person checks.
		return "", engine.Permanent(fmt.Errorf("%w; not retried: %s ignores Idempotency-Key, so another try could create a second job", err, action))
	}
	return id, stepError(err)
}

func (p piJobs) WaitJob(ctx context.Context, id string) (*Job, error) {
	j, err := p.c.GetJob(ctx, id, true, jobPollWait, "")
	if err != nil {
		return nil, stepError(err)
	}
	return &Job{ID: j.ID, Type: j.Type, Status: j.Status, ResultURL: j.ResultURL, ErrorLog: j.ErrorLog, Payload: j.Payload}, nil
}

// stepError tells the engine whether retrying the step may help.
func stepError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err // the run is being stopped: not the step's failure
	}
	var ae *piapi.Error
	if errors.As(err, &ae) && ae.Transient() {
		return &engine.StepError{Err: err, Transient: true, RetryAfter: ae.RetryAfter}
	}
	return engine.Permanent(err)
}
