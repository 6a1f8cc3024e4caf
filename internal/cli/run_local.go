package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/pi-cli/pi/internal/actions"
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

// groupCommitWindow is how long the local run's writer gathers transitions after the
// first of a batch before it records them in one transaction and shows them: a fast run
// pays a commit per window, not per event, and a person sees no delay.
const groupCommitWindow = 2 * time.Millisecond

// errLocalTimeout is the cause of a run cut off by --timeout (the run is cancelled; exit 5).
var errLocalTimeout = errors.New("--timeout reached: the local run was cancelled")

// localRegistry returns the executors for p's actions. Credentials are needed only when p
// has a Pi action: the in-process sandbox's with sandbox, else --base-url/PI_BASE_URL and
// PI_API_KEY.
func localRegistry(ctx context.Context, f *Factory, p *pipeline.Pipeline, sandbox bool) (actions.Registry, func(), error) {
	reg := actions.Local()
	var pi []string
	for _, s := range p.Steps {
		if _, ok := reg[s.Action]; ok {
			continue
		}
		if spec, ok := catalog.Lookup(s.Action); ok && spec.Endpoint != "" {
			pi = append(pi, s.Action)
			continue
		}
		return nil, nil, UsageErrorf("step %q: action %s cannot run with --local", s.ID, s.Action)
	}
	if len(pi) == 0 {
		return reg, func() {}, nil
	}
	if sandbox {
		c, stop, err := f.sandboxClient(ctx)
		if err != nil {
			return nil, nil, err
		}
		return reg.WithPi(actions.PiJobs(c), pi...), stop, nil
	}
	cfg, err := f.apiConfig()
	if err != nil {
		return nil, nil, &ExitError{Code: ExitAPI, Err: err}
	}
	if cfg.BaseURL == "" || cfg.APIKey == "" {
		return nil, nil, UsageErrorf("the pipeline has Pi actions (%s): set PI_API_KEY and --base-url or PI_BASE_URL (or both in the config file), or try it with --sandbox", pi[0])
	}
	c, err := piapi.New(cfg)
	if err != nil {
		return nil, nil, &ExitError{Code: ExitAPI, Err: err}
	}
	return reg.WithPi(actions.PiJobs(c), pi...), func() {}, nil
}

// openStore opens the local runs database, only for the commands that need it.
func openStore(ctx context.Context, f *Factory) (*store.Store, error) {
	path, err := store.DefaultPath(f.Getenv)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, path)
}

// executeLocal runs a pipeline (or resumes a stored run) with pi's own engine, recording
// every transition in the store before it is shown.
func executeLocal(ctx context.Context, f *Factory, o *runOptions) error {
	st, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer st.Close()

	var (
		data   []byte
		file   = o.File
		params = o.Params
		prior  *run.Run
		id     string
	)
	if o.Resume != "" {
		rec, err := st.Get(ctx, o.Resume)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return UsageErrorf("no local run %s in %s: 'pi runs list' shows the runs this machine recorded", o.Resume, st.Path())
			}
			return err
		}
		if err := checkResumable(f, rec); err != nil {
			return err
		}
		if err := claimResume(ctx, st, rec); err != nil {
			return err
		}
		data, file, params, prior, id = rec.Pipeline, rec.File, rec.Params, rec.Run, rec.Run.ID
		if data == nil {
			data = []byte{} // the stored text, even empty: never the file of that name now
		}
	} else {
		id = uuid.NewString()
	}

	p, src, ds, err := pipeline.Load(file, pipeline.Options{Mode: pipeline.Local, Params: params, Data: data, Stdin: f.IO.In})
	if err != nil {
		return UsageErrorf("%s: %s", src.Name, readProblem(err))
	}
	printDiagnosticsWithSource(f.IO, ds, src.Data)
	if p == nil {
		return SilentExit(ExitUsage)
	}
	file, data = src.Name, src.Data
	if prior != nil {
		if w := resumeDrift(prior, p); w != "" {
			fmt.Fprintln(f.IO.ErrOut, w)
		}
	}
	reg, closeJobs, err := localRegistry(ctx, f, p, o.Sandbox)
	if err != nil {
		return err
	}
	defer closeJobs()

	format := o.Output
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
	// One writer goroutine records transitions in batches (group commit) and shows each
	// only after the batch holding it is committed: saved before shown, without a commit
	// per event. The observer only queues, so the engine never waits for the disk. Each
	// event carries its step's new state, which is all the store and the display read:
	// a batch costs the same in a run of 50 steps or of 100,000 (no snapshot per batch).
	// The store must not be cut off by the run's own cancellation: the cancelled state is
	// exactly what has to be recorded.
	saveCtx := context.WithoutCancel(ctx)
	var (
		saveErr error
		qmu     sync.Mutex
		queue   []run.Event
		spare   []run.Event // the last batch's array, reused for the next queue
		closed  bool
		wake    = make(chan struct{}, 1)
		ended   = make(chan struct{}) // closed when the run is over: flush at once
		wdone   = make(chan struct{})
	)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	runner, err := engine.New(p, actions.Redacting(reg, f.redactor()), engine.Options{
		RunID: id, Policy: engine.Eager, Concurrency: conc, FailFast: o.FailFast, Resume: prior,
		Observer: func(ev run.Event) {
			qmu.Lock()
			queue = append(queue, ev)
			first := len(queue) == 1
			qmu.Unlock()
			if first {
				// The writer takes the whole queue when it wakes: it needs waking only
				// when the queue was empty, not at every event the engine reports while
				// it holds its observer lock.
				signal()
			}
		},
	})
	if err != nil {
		return err
	}
	// The one full copy of the run before its end: the record and the display start from
	// it (the steps a resume keeps, the others pending), and the events bring both up to
	// date.
	start := runner.Snapshot()
	start.Status = run.InProgress
	if err := store.Retry(ctx, func(ctx context.Context) error {
		return st.Create(ctx, store.Record{Run: start, File: file, Pipeline: data, Params: params, Owner: thisOwner()})
	}); err != nil {
		return store.Diagnose(st.Path(), err)
	}
	verb := "started"
	if prior != nil {
		verb = "resumed"
	}
	if format != render.FormatJSONL && !o.Quiet {
		// jsonl names the run in its first line (Progress.Start); the others say it here.
		fmt.Fprintf(f.IO.ErrOut, "run %s %s locally (%s)\n", id, verb, file)
	}
	prog := withDownload(ctx, f, o, render.NewProgress(f.IO, render.Options{Format: format, Quiet: o.Quiet, ShowAttempts: true, JobSummary: true, MaxAttempts: maxAttempts(p)}))
	prog.Start(start)
	defer prog.Stop()
	go func() {
		defer close(wdone)
		window := time.NewTimer(groupCommitWindow)
		defer window.Stop()
		for {
			<-wake
			// Group commit: the batch is what comes within the window after its first
			// event (or until the run ends), one transaction for all of it.
			window.Reset(groupCommitWindow)
			select {
			case <-window.C:
			case <-ended:
			}
			qmu.Lock()
			batch, done := queue, closed
			queue, spare = spare[:0], batch
			qmu.Unlock()
			if len(batch) > 0 {
				if err := recordEvents(saveCtx, st, id, batch); err != nil && saveErr == nil {
					saveErr = err
				}
				for k := range batch {
					prog.Event(batch[k], nil)
					batch[k] = run.Event{} // drop the step copy for the collector
				}
			}
			if done {
				return
			}
		}
	}()
	final, err := runner.Run(runCtx)
	qmu.Lock()
	closed = true
	qmu.Unlock()
	close(ended)
	signal()
	<-wdone
	if err != nil {
		return err
	}
	// Every transition is recorded; what is left is the run's end and its owner's release.
	if err := recordFinish(saveCtx, st, id, final.Status); err != nil && saveErr == nil {
		saveErr = err
	}
	if err := prog.Finish(final); err != nil {
		return err
	}
	if saveErr != nil {
		// The run itself ended as it did: its exit code says so; the record's gap is a
		// warning, not a failure of the run.
		warnIncomplete(f, id, final.Status, saveErr)
	}

	switch final.Status {
	case run.Completed:
		return nil
	case run.Failed:
		return SilentExit(ExitRunFailed)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(f.IO.ErrOut, "interrupted: run %s recorded as cancelled; continue it with 'pi run --resume %s'\n", id, id)
		return SilentExit(ExitInterrupted)
	case errors.Is(context.Cause(runCtx), errLocalTimeout):
		fmt.Fprintf(f.IO.ErrOut, "timeout after %s: run %s was cancelled; continue it with 'pi run --resume %s'\n", o.Timeout, id, id)
		return SilentExit(ExitTimeout)
	}
	return SilentExit(ExitCancelled)
}

// localRunLookup is the hook `pi runs get` asks first (runsGetOptions.LocalRun): the run
// from this machine's records, found false when there is none (or no database yet, which
// it does not create).
// remoteRunGetter reads a run from the Pi API, for commands that take a run id which is
// not one of this machine's local runs.
func remoteRunGetter(f *Factory) func(ctx context.Context, id string) (*run.Run, error) {
	return func(ctx context.Context, id string) (*run.Run, error) {
		c, err := f.apiClient()
		if err != nil {
			return nil, &ExitError{Code: ExitAPI, Err: fmt.Errorf("run %s is not a local run of this machine, and %w", id, err)}
		}
		r, err := c.GetRun(ctx, id, false, 0)
		if err != nil {
			return nil, fmt.Errorf("get run %s: %w", id, err)
		}
		return r, nil
	}
}

func localRunLookup(ctx context.Context, f *Factory) func(id string) (*store.Record, bool, error) {
	return func(id string) (*store.Record, bool, error) {
		path, err := store.DefaultPath(f.Getenv)
		if err != nil {
			return nil, false, nil
		}
		if _, err := os.Stat(path); err != nil {
			return nil, false, nil
		}
		st, err := store.Open(ctx, path)
		if err != nil {
			return nil, false, err
		}
		defer st.Close()
		rec, err := st.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return rec, true, nil
	}
}

// thisOwner names this pi process in the records: "host:pid".
func thisOwner() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}

// checkResumable says whether a stored run may be resumed: a failed or cancelled one, or one
// recorded in progress whose pi process is gone (killed, crashed, the machine restarted).
// One whose pi is still running is refused: two engines would run the same steps.
func checkResumable(f *Factory, rec *store.Record) error {
	id := rec.Run.ID
	switch rec.Run.Status {
	case run.Failed, run.Cancelled:
		return nil
	case run.InProgress, run.Pending:
	default:
		return UsageErrorf("run %s is %s; only a failed or cancelled run (or one whose pi was killed) can be resumed", id, rec.Run.Status)
	}
	o := parseOwner(rec.Owner)
	switch {
	case !o.known:
		fmt.Fprintf(f.IO.ErrOut, "warning: run %s is recorded in progress by an older pi that did not record its process; resuming it as interrupted\n", id)
		return nil
	case !o.here:
		return UsageErrorf("run %s is in progress on host %s; resume it there if its pi was stopped", id, o.host)
	case !o.gone():
		return UsageErrorf("run %s is still running (pi process %d); follow it with 'pi runs get %s --wait', or stop that process first", id, o.pid, id)
	}
	fmt.Fprintf(f.IO.ErrOut, "run %s was interrupted (its pi process %d is gone): completed steps are kept, the others run again\n", id, o.pid)
	return nil
}

// owner is a run record's owner ("host:pid"), parsed.
type owner struct {
	host  string
	pid   int
	known bool // the record names a process (records of older versions do not)
	here  bool // on this machine, where its process can be checked
}

func parseOwner(s string) owner {
	host, pidText, ok := strings.Cut(s, ":")
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil {
		return owner{}
	}
	me, _ := os.Hostname()
	return owner{host: host, pid: pid, known: true, here: host == me}
}

// gone reports a pi process of this machine that no longer exists: the run it recorded in
// progress was interrupted (killed, crashed, rebooted).
func (o owner) gone() bool { return o.known && o.here && !processAlive(o.pid) }

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
