package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// remoteTarget is the server a run on the Runs API goes to.
type remoteTarget struct {
	c     *piapi.Client
	where store.Where // where its record says it ran
	// server is its identity in the step cache.
	server string
}

// remoteTarget is the Pi API of the configuration, or with --sandbox the in-process
// sandbox (started then, on this machine's sandbox database).
func (o *runOptions) remoteTarget(ctx context.Context, clients *piClients) (*remoteTarget, error) {
	if o.Sandbox {
		c, err := clients.sandbox(ctx)
		if err != nil {
			return nil, err
		}
		return &remoteTarget{c: c, where: store.Where{Place: store.PlaceSandbox, Server: clients.sandboxDB()}, server: cache.Sandbox}, nil
	}
	c, err := o.APIClient()
	if err != nil {
		return nil, &ExitError{Code: ExitAPI, Err: err}
	}
	cfg, err := o.APIConfig()
	if err != nil {
		return nil, &ExitError{Code: ExitAPI, Err: err}
	}
	return &remoteTarget{c: c, where: store.Where{Place: store.PlaceRemote, Server: cfg.BaseURL}, server: cache.ServerIdentity(cfg.BaseURL, cfg.APIKey)}, nil
}

// submission is one run sent to the Runs API: what it needs from planning to following.
type submission struct {
	o          *runOptions
	t          *remoteTarget
	file       string // the pipeline's name and text, for the record
	data       []byte
	rerunOf    string // the run this one reruns, "" for none
	locate     func(step string) (string, pipeline.Pos)
	deadline   time.Time
	createCtx  context.Context // bounds the plan's checks and the creation by --timeout
	cancelTime context.CancelFunc
}

func (sub *submission) startClock(ctx context.Context) {
	sub.createCtx, sub.cancelTime = ctx, func() {}
	if sub.o.Timeout > 0 {
		sub.deadline = time.Now().Add(sub.o.Timeout)
		sub.createCtx, sub.cancelTime = context.WithDeadline(ctx, sub.deadline)
	}
}

func (sub *submission) stopClock() { sub.cancelTime() }

// submit checks the plan against --max-jobs, creates a run of the steps left to pay for
// (none when every step reuses a job: then no run is created), records it, and follows it
// unless --detach. The run pi shows and records is the whole pipeline's: the reused steps
// with the jobs they reuse, the others as the server runs them.
func (sub *submission) submit(ctx context.Context, pp *paidPlan) (runResult, error) {
	o := sub.o
	if err := o.budget(pp); err != nil {
		return runResult{}, err
	}
	if !o.Quiet {
		pp.announce(o.IO.ErrOut)
	}
	rec := store.Record{File: sub.file, Pipeline: sub.data, Params: o.Params, Where: sub.t.where, RerunOf: sub.rerunOf, CacheRead: o.CacheRead, BatchID: o.row.batch()}
	if len(pp.Pipeline.Steps) == 0 {
		return sub.nothingToSend(ctx, pp, rec)
	}
	if len(pp.Pipeline.Steps) > pipeline.MaxRemoteSteps {
		return sub.sendWaves(ctx, pp, rec)
	}
	body, err := pp.Pipeline.RunsBody()
	if err != nil {
		return runResult{}, fmt.Errorf("encode run body: %w", err)
	}
	// --timeout and Ctrl-C own the creation too: its retries and Retry-After waits.
	created, err := sub.t.c.CreateRun(sub.createCtx, body)
	if err != nil {
		return createFailed(ctx, sub.createCtx, o.Timeout, err)
	}
	pp.claimRun(ctx, created.RunID)
	sent := createdRun(pp.Pipeline, created)
	rec.Run, rec.Body, rec.RemoteID = pp.Merge(sent), body, created.RunID
	sub.save(ctx, rec, false)
	if o.Detach {
		return runResult{run: rec.Run, how: outcomeDetached}, nil
	}
	prog := &mergedProgress{Progress: render.NewProgress(o.IO, render.Options{Format: o.Output, Quiet: o.Quiet, JobSummary: true, Locate: sub.locate}), merge: pp.Merge}
	interval := piapi.FollowInterval(!o.Quiet && o.Output != render.FormatJSON)
	if o.Interval > 0 {
		interval = o.Interval
	}
	res, err := followRemote(ctx, sub.t.c, prog, sent, created.RunID, sub.deadline, interval)
	if err != nil {
		return res, err
	}
	if res.run != nil && len(res.run.Steps) > 0 {
		res.run = pp.Merge(res.run)
		rec.Run = res.run
		sub.save(ctx, rec, true)
		pp.record(ctx, res.run)
	}
	return res, nil
}

// nothingToSend is a plan with no step left to pay for: no run is created; the pipeline's
// run, every step reused, is recorded under an id of its own.
func (sub *submission) nothingToSend(ctx context.Context, pp *paidPlan, rec store.Record) (runResult, error) {
	r := pp.Merge(nil)
	r.ID = uuid.NewString()
	r.CreatedAt, r.UpdatedAt = time.Now(), time.Now()
	rec.Run = r
	sub.save(ctx, rec, false)
	if !sub.o.Quiet {
		fmt.Fprintf(sub.o.IO.ErrOut, "every step reuses a job paid for earlier: no run was created (recorded as %s)\n", r.ID)
	}
	if sub.o.Detach {
		return runResult{run: r, how: outcomeDetached}, nil
	}
	prog := render.NewProgress(sub.o.IO, render.Options{Format: sub.o.Output, Quiet: sub.o.Quiet, JobSummary: true, Locate: sub.locate})
	prog.Start(r)
	if err := prog.Finish(r); err != nil {
		return runResult{}, fmt.Errorf("write result: %w", err)
	}
	return runResult{run: r, where: placeRemote}, nil
}

// save records the run (first its creation, then with again its last known state). A
// record that cannot be written is a warning: the run itself goes on.
func (sub *submission) save(ctx context.Context, rec store.Record, again bool) {
	recs, err := sub.o.Records(ctx)
	if err == nil {
		if again {
			err = recs.SaveRun(ctx, rec.Run)
		} else {
			err = recs.Create(ctx, rec)
		}
		recs.Close()
	}
	if err != nil {
		fmt.Fprintf(sub.o.IO.ErrOut, "warning: run %s is not recorded on this machine: %v\n", rec.Run.ID, err)
	}
}

// mergedProgress shows the whole pipeline while the server runs part of it: every run it
// is given (the server's) is merged with the steps reused.
type mergedProgress struct {
	render.Progress
	merge func(*run.Run) *run.Run
}

func (m *mergedProgress) Start(r *run.Run) { m.Progress.Start(m.merge(r)) }

func (m *mergedProgress) Event(e run.Event, snap *run.Run) {
	if snap != nil {
		snap = m.merge(snap)
	}
	m.Progress.Event(e, snap)
}

func (m *mergedProgress) Finish(r *run.Run) error { return m.Progress.Finish(m.merge(r)) }

// checkReroll refuses a --reroll that names no step of p (by id, or a matrix step's id).
func checkReroll(p *pipeline.Pipeline, names []string) error {
	for _, name := range names {
		found := false
		for i := range p.Steps {
			if o := p.Steps[i].Origin; p.Steps[i].ID == name || o != nil && o.Template == name {
				found = true
				break
			}
		}
		if !found {
			ids := make([]string, len(p.Steps))
			for i := range p.Steps {
				ids[i] = p.Steps[i].ID
			}
			return UsageErrorf("--reroll %s: no such step (the steps: %s)", name, listIDs(ids, 12))
		}
	}
	return nil
}
