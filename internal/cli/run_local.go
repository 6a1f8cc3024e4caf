package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/pi-cli/pi/internal/actions"
	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// defaultLocalConcurrency is how many steps --local runs at once unless told.
const defaultLocalConcurrency = 8

// errLocalTimeout is the cause of a run cut off by --timeout (the run is cancelled; exit 5).
var errLocalTimeout = errors.New("--timeout reached: the local run was cancelled")

// localRecords is what a local run needs of this machine's runs database (*store.Store):
// a Recorder's sink, and the record of a run to resume and its claim.
type localRecords interface {
	store.Sink
	Get(ctx context.Context, id string) (*store.Record, error)
	Claim(ctx context.Context, rec *store.Record, owner store.Owner) error
	// SaveRun records a remote run's last known state; Resolve finds a run by a prefix.
	SaveRun(ctx context.Context, r *run.Run) error
	Resolve(ctx context.Context, id string) (string, error)
	// SaveServerRuns records the server runs of a logical run (waves).
	SaveServerRuns(ctx context.Context, id string, srs []store.ServerRun) error
	Close() error
}

// localStart is what a local run starts from: the pipeline, as read from its file or from
// the record of the run it resumes.
type localStart struct {
	p      *pipeline.Pipeline
	id     string
	file   string
	data   []byte
	params map[string]string
	prior  *run.Run // the resumed run as recorded; nil for a new run
	// rerunOf is the run a rerun reruns (pi runs rerun): prior then holds its reused steps.
	rerunOf string
	// locate says where each step is written in the file (render.Options.Locate).
	locate func(step string) (string, pipeline.Pos)
}

// runLocal runs a pipeline (or resumes a recorded run) with pi's own engine. A
// store.Recorder is the engine's observer: every transition is saved before it is shown.
func runLocal(ctx context.Context, o *runOptions, clients *piClients) (runResult, error) {
	recs, err := o.Records(ctx)
	if err != nil {
		return runResult{}, err
	}
	defer recs.Close()
	ls, err := startLocal(ctx, o, recs)
	if err != nil {
		return runResult{}, err
	}
	reg, paying, err := localRegistry(ctx, o, ls.p, clients)
	if err != nil {
		return runResult{}, err
	}
	if paying != nil && paying.Cache != nil {
		defer paying.Cache.Close()
	}
	runCtx := ctx
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, o.Timeout, errLocalTimeout)
		defer cancel()
	}
	conc := o.Concurrency
	if conc <= 0 {
		conc = defaultLocalConcurrency
	}
	var rec *store.Recorder // the observer's: set before the run starts
	runner, err := engine.New(ls.p, ls.p.Graph(), actions.Redacting(reg, o.Redactor()), engine.Options{
		RunID: ls.id, Concurrency: conc, FailFast: o.FailFast, Resume: ls.prior,
		Reuse:    reuseHook(paying),
		Observer: func(ev run.Event) { rec.Observe(ev) },
		// A creation's Idempotency-Key is saved before the creation is sent.
		Saved: func(ctx context.Context) error { return rec.Flush(ctx) },
	})
	if err != nil {
		return runResult{}, err
	}
	// The one full copy of the run before its end: the record and the display start from
	// it (the steps a resume keeps, the others pending), and the events bring both up to
	// date.
	start := runner.Snapshot()
	start.Status = run.InProgress
	prog := render.NewProgress(o.IO, render.Options{Format: o.Output, Quiet: o.Quiet, ShowAttempts: true, JobSummary: true, MaxAttempts: maxAttempts(ls.p), Locate: ls.locate})
	defer prog.Stop()
	rec, err = store.StartRecorder(ctx, recs, store.Record{Run: start, File: ls.file, Pipeline: ls.data, Params: ls.params, RerunOf: ls.rerunOf, CacheRead: o.CacheRead, BatchID: o.row.batch(),
		// A --local --sandbox run's Pi jobs are in that sandbox: a rerun uses it again.
		Where: store.Where{Place: store.PlaceLocal, Server: clients.sandboxDB()}},
		func(ev run.Event) { prog.Event(ev, nil) })
	if err != nil {
		return runResult{}, err
	}
	ls.data = nil // in the record now: the run does not keep the file's text (13 MB at 100,000 steps)
	if o.Output != render.FormatJSONL && !o.Quiet {
		// jsonl names the run in its first line (Progress.Start); the others say it here.
		verb := map[bool]string{false: "started", true: "resumed"}[ls.prior != nil]
		fmt.Fprintf(o.IO.ErrOut, "run %s %s locally (%s)\n", ls.id, verb, ls.file)
	}
	prog.Start(start)
	final, err := runner.Run(runCtx)
	if err != nil {
		rec.Close()
		return runResult{}, err
	}
	recordErr := rec.Finish(final.Status)
	if err := prog.Finish(final); err != nil {
		return runResult{}, err
	}
	return runResult{run: final, how: localOutcome(ctx, runCtx, final), where: placeLocal, timeout: o.Timeout, recordErr: recordErr}, nil
}

// localOutcome says how a local run ended: a completed or failed run ended, a cancelled one
// was cut off by Ctrl-C, --timeout, or (--fail-fast) itself.
func localOutcome(ctx, runCtx context.Context, final *run.Run) outcome {
	switch {
	case final.Status == run.Completed || final.Status == run.Failed:
		return outcomeEnded
	case ctx.Err() != nil:
		return outcomeInterrupted
	case errors.Is(context.Cause(runCtx), errLocalTimeout):
		return outcomeTimeout
	}
	return outcomeEnded
}

// startLocal reads the pipeline of a local run: o.File, or the record of the run o.Resume
// names, which this process then owns. Its diagnostics are shown with their source.
func startLocal(ctx context.Context, o *runOptions, recs localRecords) (*localStart, error) {
	ls := &localStart{file: o.File, params: o.Params, id: uuid.NewString(), data: o.row.text()}
	if o.Resume != "" {
		rec, err := resumeRecord(ctx, o, recs)
		if err != nil {
			return nil, err
		}
		ls.data, ls.file, ls.params, ls.prior, ls.id = rec.Pipeline, rec.File, rec.Params, rec.Run, rec.Run.ID
		if ls.data == nil {
			ls.data = []byte{} // the stored text, even empty: never the file of that name now
		}
	}
	if o.rerun != nil {
		ls.data, ls.file, ls.params, ls.rerunOf = o.rerun.rec.Pipeline, o.rerun.rec.File, o.rerun.rec.Params, o.rerun.rec.Run.ID
		if ls.data == nil {
			ls.data = []byte{}
		}
	}
	p, src, err := loadForRun(o, ls.file, pipeline.Local, ls.params, ls.data)
	if err != nil {
		return nil, err
	}
	ls.p, ls.file, ls.data, ls.locate = p, src.Name, src.Data, stepLocator(o.IO, p, src)
	if o.rerun != nil {
		ls.prior = o.rerun.prior(p)
	} else if ls.prior != nil {
		if w := resumeDrift(ls.prior, p); w != "" {
			fmt.Fprintln(o.IO.ErrOut, w)
		}
	}
	return ls, nil
}

// resumeRecord reads the run o.Resume names and makes this process its owner, by the
// store's rules: a failed or cancelled run, or one whose pi process is gone; of two
// resumes at once, one. A refusal is a usage error (exit 2) that says what to do instead.
func resumeRecord(ctx context.Context, o *runOptions, recs localRecords) (*store.Record, error) {
	id, err := recs.Resolve(ctx, o.Resume)
	var amb *store.AmbiguousError
	switch {
	case errors.As(err, &amb):
		return nil, &ExitError{Code: ExitUsage, Err: err}
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrShortPrefix):
		return nil, UsageErrorf("no local run %s in %s: 'pi runs list' shows the runs this machine recorded", o.Resume, recs.Path())
	case err != nil:
		return nil, err
	}
	rec, err := recs.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, UsageErrorf("no local run %s in %s: 'pi runs list' shows the runs this machine recorded", id, recs.Path())
	}
	if err != nil {
		return nil, err
	}
	if rec.Place != "" && rec.Place != store.PlaceLocal {
		return nil, UsageErrorf("run %s ran on the Runs API (%s), not here: 'pi runs rerun %s' runs its failed steps again and reuses the rest", id, rec.Place, id[:8])
	}
	how, err := store.Resumable(rec)
	var owned *store.OwnedError
	switch {
	case errors.As(err, &owned) && !owned.Elsewhere:
		return nil, UsageErrorf("%v; follow it with 'pi runs get %s --wait', or stop that process first", err, id)
	case err != nil:
		return nil, &ExitError{Code: ExitUsage, Err: err}
	case how == store.TakeoverInterrupted:
		fmt.Fprintf(o.IO.ErrOut, "run %s was interrupted (its pi process %d is gone): completed steps are kept, the others run again\n", id, rec.Owner.PID)
	case how == store.TakeoverUnowned:
		fmt.Fprintf(o.IO.ErrOut, "warning: run %s is recorded in progress by an older pi that did not record its process; resuming it as interrupted\n", id)
	}
	if err := confirmRepay(ctx, o, rec.Run); err != nil {
		return nil, err
	}
	err = recs.Claim(ctx, rec, store.Self())
	if errors.Is(err, store.ErrClaimed) {
		return nil, UsageErrorf("run %s was resumed by another pi process just now; follow it with 'pi runs get %s --wait'", id, id)
	}
	return rec, err
}

// localRegistry returns the executors for p's actions, and how its Pi actions pay for
// jobs (nil without any). Credentials are needed only when p has a Pi action: the
// in-process sandbox's with --sandbox, else --base-url/PI_BASE_URL and PI_API_KEY.
func localRegistry(ctx context.Context, o *runOptions, p *pipeline.Pipeline, clients *piClients) (actions.Registry, *actions.Paying, error) {
	reg := actions.Local()
	var pi []string
	cachedLocal := false
	for i := range p.Steps {
		s := &p.Steps[i]
		if _, ok := reg[s.Action]; ok {
			cachedLocal = cachedLocal || s.Cache != nil && *s.Cache
			continue
		}
		if spec, ok := catalog.Lookup(s.Action); ok && spec.Endpoint != "" {
			pi = append(pi, s.Action)
			continue
		}
		return nil, nil, UsageErrorf("step %q: action %s cannot run with --local", s.ID, s.Action)
	}
	if len(pi) == 0 {
		if !cachedLocal {
			return reg, nil, nil
		}
		// Only local steps, some of them cached: no server to ask anything.
		paying, err := o.localPaying(ctx, p, nil, cacheJobs{}, cache.Local)
		if err != nil {
			return nil, nil, err
		}
		return paying.Wrap(reg), paying, nil
	}
	var c *piapi.Client
	server := cache.Sandbox
	if o.Sandbox {
		var err error
		if c, err = clients.sandbox(ctx); err != nil {
			return nil, nil, err
		}
	} else {
		cfg, err := o.APIConfig()
		if err != nil {
			return nil, nil, &ExitError{Code: ExitAPI, Err: err}
		}
		if cfg.BaseURL == "" || cfg.APIKey == "" {
			return nil, nil, UsageErrorf("the pipeline has Pi actions (%s): set PI_API_KEY and --base-url or PI_BASE_URL (or both in the config file), or try it with --sandbox", pi[0])
		}
		if c, err = piapi.New(cfg); err != nil {
			return nil, nil, &ExitError{Code: ExitAPI, Err: err}
		}
		server = cache.ServerIdentity(cfg.BaseURL, cfg.APIKey)
	}
	paying, err := o.localPaying(ctx, p, c, clients.cacheJobs(c), server)
	if err != nil {
		return nil, nil, err
	}
	return paying.Wrap(reg).WithPi(paying, pi...), paying, nil
}

// maxAttempts is each step's number of attempts, as the engine applies it, for the
// "retry 2/4 in 0.6s" the progress shows.
func maxAttempts(p *pipeline.Pipeline) map[string]int {
	m := make(map[string]int, len(p.Steps))
	for _, s := range p.Steps {
		n := pipeline.DefaultMaxAttempts
		if s.Retry != nil {
			n = s.Retry.MaxAttempts
		}
		m[s.ID] = max(n, 1)
	}
	return m
}
