package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/uuid"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/safe"
)

// Job is what the executor needs of a Pi job (GET /api/v1/jobs/:id).
type Job struct {
	ID, Type, ResultURL, ErrorLog string
	Status                        catalog.JobStatus
	Payload                       map[string]any
}

// JobAPI is the part of the Pi API client the Pi actions use; the CLI adapts its client
// to it. Errors should be *engine.StepError (or wrap one) when retrying may help.
type JobAPI interface {
	// CreateJob posts input to the action's own endpoint and returns the job id. key is the
	// Idempotency-Key of this job creation: the same across every attempt to create it, so
	// an endpoint that honours it replays a job whose answer was lost instead of creating
	// (and charging for) another.
	CreateJob(ctx context.Context, action string, input map[string]any, key string) (string, error)
	// WaitJob long-polls the job once (the server bounds the wait) and returns its state.
	WaitJob(ctx context.Context, id string) (*Job, error)
}

// Pi runs a Pi action as one job: create it, record its id, long-poll until it is terminal
// and map it to exactly the step result the server would record. A failed job is a
// transient failure carrying the server's {job_id, error_log} result. Cancellation leaves
// the job to the server (there is no cancel endpoint).
type Pi struct {
	API JobAPI
	// Clock times the polls and waits between them (tests give a fake one); nil is the
	// wall clock.
	Clock clock.Clock

	mu sync.Mutex
	// keys holds the Idempotency-Key of each step's job creation until a creation
	// succeeds: an attempt after a lost answer reuses it, an attempt after a job that
	// failed gets a new one (it must be a new job).
	keys map[string]string
}

// Execute runs one attempt.
func (p *Pi) Execute(ctx context.Context, req engine.Request) (map[string]any, error) {
	id, job, err := p.reattach(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: job %s: %w", req.Step.Action, req.ResumeJobID, err)
	}
	if id == "" {
		if id, err = p.create(ctx, req); err != nil {
			return nil, fmt.Errorf("%s: creating the job: %w", req.Step.Action, err)
		}
	}
	if req.SetJobID != nil {
		req.SetJobID(id)
	}
	clk := clock.Or(p.Clock)
	for {
		start := clk.Now()
		if job == nil {
			if job, err = p.API.WaitJob(ctx, id); err != nil {
				return nil, fmt.Errorf("%s: job %s: %w", req.Step.Action, id, err)
			}
		}
		switch job.Status {
		case catalog.JobQueued, catalog.JobProcessing:
		case catalog.JobCompleted:
			return run.JobResult(id, job.Type, job.ResultURL, job.Payload), nil
		case catalog.JobFailed:
			why, result := failure(id, job)
			return nil, &engine.StepError{
				Err:       fmt.Errorf("%s: job %s failed: %s", req.Step.Action, id, why),
				Transient: true,
				Result:    result,
			}
		default:
			// Polling it again would wait for a status that may never come.
			return nil, engine.Permanent(fmt.Errorf("%s: job %s has status %q, which pi does not know (queued, processing, completed, failed): it stops waiting for it",
				req.Step.Action, id, safe.Text(string(job.Status))))
		}
		// Still running. A server that honours the long-poll answers after its wait; one
		// that answers at once (a proxy, another implementation) must not be polled in a
		// tight loop.
		if err := clock.Sleep(ctx, clk, jobPollFloor-clk.Now().Sub(start)); err != nil {
			return nil, err
		}
		job = nil
	}
}

// create sends the step's job creation with its Idempotency-Key, recorded in the run
// before it is sent (Request.SetCreationKey): a pi cut off or killed before the answer
// leaves the key to the resume, which sends it again. The key is cleared once the server
// answered without a job.
func (p *Pi) create(ctx context.Context, req engine.Request) (string, error) {
	if req.ResumeCreationKey != "" {
		if spec, ok := catalog.Lookup(req.Step.Action); !ok || !spec.Idempotent {
			// The endpoint makes a new job for every POST (brands/extract: no key is read):
			// only a person may decide to pay again (pi run --resume ID --repay STEP).
			return "", engine.Permanent(fmt.Errorf("%w: the interrupted run sent its creation (Idempotency-Key %s) without getting the answer, and %s does not recognise a second one; not sent again",
				ErrMayExist, req.ResumeCreationKey, req.Step.Action))
		}
	}
	key := p.creationKey(req)
	if req.SetCreationKey != nil {
		if err := req.SetCreationKey(ctx, key); err != nil {
			return "", err
		}
	}
	id, err := p.API.CreateJob(ctx, req.Step.Action, req.Input, key)
	if err != nil {
		var ae *piapi.Error
		if req.SetCreationKey != nil && errors.As(err, &ae) && ae.HTTPStatus != 0 && !ae.MayExist {
			_ = req.SetCreationKey(ctx, "") // answered: no job was made
		}
		return "", err
	}
	p.created(req)
	return id, nil
}

// ErrMayExist is the failure of a resumed step whose earlier creation may have made a job
// that pi will not pay for again without being told to.
var ErrMayExist = errors.New("a job may exist")

// creationKey is the Idempotency-Key of the step's pending job creation: on a resumed
// step's first attempt, the one its interrupted run sent.
func (p *Pi) creationKey(req engine.Request) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys == nil {
		p.keys = map[string]string{}
	}
	k := req.RunID + "\x00" + req.Step.ID
	if p.keys[k] == "" {
		p.keys[k] = req.ResumeCreationKey
		if p.keys[k] == "" {
			p.keys[k] = uuid.NewString()
		}
	}
	return p.keys[k]
}

// created ends the step's job creation: its next job (after this one fails) is a new one.
func (p *Pi) created(req engine.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.keys, req.RunID+"\x00"+req.Step.ID)
}

// failure is why a job failed, as the server's step would say it (its error log, else
// child_job_failed) with the job's payload.failure_code when it has one, and the step
// result the server records ({job_id, error_log}, plus failure_code).
func failure(id string, job *Job) (string, map[string]any) {
	res := run.FailedJobResult(id, job.ErrorLog)
	why := job.ErrorLog
	if why == "" {
		why = run.ChildJobFailed
	}
	if code, _ := job.Payload["failure_code"].(string); code != "" {
		res[run.FailureCodeKey] = code
		why += ": " + code
	}
	return why, res
}

// reattach looks up the job an interrupted run of a resumed step started: the job goes on
// being waited for, not started again (and paid for twice). id is "" when there is none,
// or when the server does not know it (another server, or one that forgot it).
func (p *Pi) reattach(ctx context.Context, req engine.Request) (id string, job *Job, err error) {
	if req.ResumeJobID == "" {
		return "", nil, nil
	}
	job, err = p.API.WaitJob(ctx, req.ResumeJobID)
	switch {
	case jobGone(err):
		return "", nil, nil
	case err != nil:
		return "", nil, err
	case job.Status == catalog.JobFailed:
		return "", nil, nil // the attempt it belonged to failed: this one starts a new job
	}
	return req.ResumeJobID, job, nil
}

// WithPi adds the Pi actions (names) to the registry, all run through api.
func (r Registry) WithPi(api JobAPI, names ...string) Registry {
	ex := &Pi{API: api}
	for _, n := range names {
		r[n] = ex
	}
	return r
}

// jobGone reports an error saying the server has no such job.
func jobGone(err error) bool {
	var ae *piapi.Error
	return errors.As(err, &ae) && ae.HTTPStatus == http.StatusNotFound
}
