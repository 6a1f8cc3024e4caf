package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/safe"
	"github.com/pi-cli/pi/internal/sandbox"
)

// runOptions is everything `pi run` does, filled from its flags and checked once by
// newRunCmd; runRun dispatches it to a remote, local or resumed run.
type runOptions struct {
	File   string            // the pipeline file; "-" reads stdin; "" with Resume
	Params map[string]string // -p NAME=VALUE

	Local   bool   // --local: pi's own engine runs the pipeline
	Resume  string // --resume ID: continue that local run (implies Local)
	Sandbox bool   // --sandbox: the in-process simulated Pi API (with Local: for the Pi actions)
	Detach  bool   // --detach: create the remote run, print its id and exit
	// SandboxRateLimit is --sandbox-rate-limit: the sandbox limits requests as the Pi
	// server does (N 0: no limit).
	SandboxRateLimit sandbox.Rate

	Output   render.Format // -o; "" is the table
	Quiet    bool          // -q: no progress on stderr, only the result
	Timeout  time.Duration // --timeout: stop following (remote) or cancel (local); 0 none
	Interval time.Duration // --interval: how often a remote run is re-read; 0 the default

	Concurrency int  // --concurrency (local)
	FailFast    bool // --fail-fast (local)

	// DryRun is --dry-run: validate, print what would be sent (or run) and its cost, and
	// stop (dryrun.go).
	DryRun bool
	// Download is --download DIR: save the run's images there at the end (run_download.go).
	Download string
	// Web is --web: open the run's report in the browser once it ended (run_web.go).
	Web bool
	// Strict is --strict: a file with a warning is refused (exit 2) before anything is
	// sent; without the flag, strict: true in the config file decides (StrictFromConfig).
	Strict           bool
	StrictFromConfig bool

	runCacheOptions
	// eachOptions is --each and the flags of a batch (run_each.go).
	eachOptions
	runDeps
	// rerun, for pi runs rerun of a local run, is what it reruns and reuses.
	rerun *localRerun
	// row is set on the options of a batch's row: its batch and the pipeline's text.
	row *batchRow
}

// runDeps is what a run needs, each called only by the path that needs it (the Factory's
// by default, Factory.runDeps; tests give their own).
type runDeps struct {
	IO *render.IOStreams
	// APIConfig is the Pi API's settings (--base-url, the config file, the environment).
	APIConfig func() (piapi.Config, error)
	// APIClient is a client of that API; it says so when there is no key.
	APIClient func() (*piapi.Client, error)
	// StartSandbox starts an in-process simulated Pi API (--sandbox) on a database (""
	// for this machine's) and returns its client and the session, which Close stops.
	StartSandbox func(ctx context.Context, spec sandboxSpec) (*piapi.Client, *sandboxSession, error)
	// Records opens this machine's records of local runs.
	Records func(ctx context.Context) (localRecords, error)
	// Redactor hides the API key wherever a step or a server echoes it.
	Redactor func() *safe.Redactor
	// DownloadImages saves a finished run's images into dir (--download).
	DownloadImages func(ctx context.Context, r *run.Run, spec downloadSpec) error
	// APIBase is the configured API base URL, read without a word (for downloads).
	APIBase func() string
	// OpenCache opens the step cache (nil: none, every step pays); readOnly (--cache=read)
	// opens it so that nothing can be written.
	OpenCache func(ctx context.Context, readOnly bool) (*cache.Cache, error)
	// OpenReport writes a finished run's report and opens it in the browser (--web).
	OpenReport func(ctx context.Context, r *run.Run, o *runOptions) error
	// FollowRecorded follows a recorded run on the Pi API to its end, as 'pi runs get ID
	// --wait' does, on ios (a resumed batch's row whose run pi had stopped following).
	FollowRecorded func(ctx context.Context, ios *render.IOStreams, id string, timeout time.Duration) (runResult, error)
}

// runDeps are f's dependencies of a run.
func (f *Factory) runDeps() runDeps {
	return runDeps{
		IO:           f.IO,
		APIConfig:    f.apiConfig,
		APIClient:    f.apiClient,
		StartSandbox: f.sandboxClient,
		Records: func(ctx context.Context) (localRecords, error) {
			st, err := openStore(ctx, f)
			if err != nil || !f.Exits {
				return st, err
			}
			return exitingRecords{st}, nil
		},
		Redactor:       f.redactor,
		DownloadImages: downloadAfterRun(f),
		APIBase:        f.apiBase,
		OpenCache:      f.openCache,
		OpenReport:     openRunReport(f),
		FollowRecorded: followRecordedRun(f),
	}
}

// openCache opens the step cache ($XDG_CACHE_HOME/pi/cache.db), read-only for
// --cache=read.
func (f *Factory) openCache(ctx context.Context, readOnly bool) (*cache.Cache, error) {
	path, err := cache.DefaultPath(f.Getenv)
	if err != nil {
		return nil, err
	}
	return cache.Open(ctx, path, cache.Options{ReadOnly: readOnly})
}

// Bounds of --interval: the long-poll is asked in whole seconds, and following a run
// more rarely than every 5 minutes would show its end far too late.
const (
	minFollowInterval = time.Second
	maxFollowInterval = 5 * time.Minute
)

func newRunCmd(f *Factory, runF func(*runOptions) error) *cobra.Command {
	o := &runOptions{runDeps: f.runDeps()}
	var t runFlagText
	cmd := &cobra.Command{
		Annotations: map[string]string{signalsAnnotation: "yes"},
		Use:         "run FILE",
		Short:       "Validate a pipeline and run it",
		Long: `Validate a pipeline and run it, following it live until it ends. FILE - reads the
pipeline from standard input.

By default the run goes to the Pi API (POST /api/v1/runs; the key comes from PI_API_KEY or
the config file, never a flag). With --local, pi's own engine runs it on this machine:
dependencies start as soon as they can, retries and timeouts from the file apply, local
actions (shell.run, http.request) are allowed and the run is recorded for --resume.
--sandbox sends the Pi actions to a simulated server inside pi: no account, no cost.
--dry-run sends nothing and needs no key: it prints the exact POST /api/v1/runs body
(indented on a terminal; with --local, the plan the engine would execute), matrices
expanded, and the paid jobs.
--each ROWS runs the pipeline once per row of a CSV (header: param names) or JSONL file, the
row as params, --max-parallel rows at a time; it prints a batch id that --resume continues
(--failed: only the failed rows); --shard I/N takes this runner's part of the rows.

More than 10 steps to send (the Runs API's limit, matrices expanded) go as several server
runs of at most 10 (waves): each is sent as soon as the runs it needs completed, their
results passed as literal inputs, and pi follows them as one run (one table, one record,
one exit code; 'pi runs get ID' lists its server runs). --dry-run shows the waves.

Output (-o): table (a live table on a terminal, lines in a pipe), plain, json (the final
run on stdout) or jsonl (one event per line, the final run last).

Exit codes: 0 completed, 1 failed, 2 invalid file or flags, 3 cancelled, 4 API error,
5 --timeout passed, 130 interrupted (see 'pi help exit-codes').`,
		Example: `  pi run campaign.yaml --sandbox
  pi run campaign.yaml -p url=https://shop.example.com --timeout 15m
  pi run campaign.yaml --dry-run -p cultures='[French urban premium, German minimalist]'
  id=$(pi run campaign.yaml --detach) && pi runs get "$id" --wait -o json
  pi run pipeline.yaml --local --concurrency 4 --fail-fast
  generate-pipeline | pi run - --sandbox
  pi run --resume 9f175af9-589b-44e8-86b9-1a434702245a
  pi run ad.yaml --each markets.csv --sandbox --shard 1/4`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.fill(cmd, args, t.output, t.params); err != nil {
				return err
			}
			if err := o.fillCache(cmd, t.cacheMode); err != nil {
				return err
			}
			if err := o.fillEach(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runRun(cmd.Context(), o)
		},
	}
	runFlags(cmd.Flags(), o, &t)
	return cmd
}

// runFlagText is what pi run's flags give as text, for fill to parse and check.
type runFlagText struct {
	output, cacheMode string
	params            []string
}

// runFlags defines pi run's flags on fl, into o and t.
func runFlags(fl *pflag.FlagSet, o *runOptions, t *runFlagText) {
	fl.StringArrayVarP(&t.params, "param", "p", nil, "set a param: -p name=value (repeatable)")
	fl.StringVarP(&t.output, "output", "o", "", "output: table (default on a terminal), plain, json or jsonl")
	fl.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress on stderr, only the result")
	fl.DurationVar(&o.Timeout, "timeout", 0, "stop following after this long, e.g. 90s (exit 5); a --local run is cancelled")
	fl.DurationVarP(&o.Interval, "interval", "i", 0, "how often a run on the Pi API is re-read while a table is drawn (default 2s; 30s without progress)")
	fl.BoolVar(&o.Sandbox, "sandbox", false, "use an in-process simulated Pi API (with --local: for the Pi actions)")
	fl.Var(rateFlag{&o.SandboxRateLimit}, "sandbox-rate-limit", "with --sandbox: the simulated server allows this many requests per window (N/min, N/s, N/h), then 429s as the Pi server; pi paces itself by it")
	fl.BoolVar(&o.Detach, "detach", false, "create the run, print its id and exit")
	fl.BoolVar(&o.Local, "local", false, "run the pipeline here with pi's own engine (shell.run, http.request, Pi actions as jobs)")
	fl.StringVar(&o.Resume, "resume", "", "continue a failed or cancelled local run, or a batch (--each), by id")
	fl.IntVar(&o.Concurrency, "concurrency", defaultLocalConcurrency, "steps running at once (--local)")
	fl.BoolVar(&o.FailFast, "fail-fast", false, "cancel the rest after the first failure (--local)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print what would be sent (with --local: the plan) and the paid jobs; send nothing, need no key")
	fl.StringVar(&o.Download, "download", "", "when the run ends, download its images into this directory, as 'pi runs download' does")
	fl.BoolVar(&o.NoCache, "no-cache", false, "reuse no earlier job: pay for every step (what is paid for is still cached)")
	fl.StringVar(&t.cacheMode, "cache", "on", "the step cache: on, or read (reuse earlier jobs, cache nothing: for pull-request CI)")
	fl.StringArrayVar(&o.Reroll, "reroll", nil, "pay for a new variant of this step (and what depends on it) instead of reusing it (repeatable)")
	fl.StringArrayVar(&o.Repay, "repay", nil, "with --resume: create again this step's job that may exist (its creation went unanswered; brands.extract would charge twice) (repeatable)")
	fl.IntVar(&o.MaxJobs, "max-jobs", 0, "refuse (exit 2, nothing sent) a run that would pay for more jobs than this, after reuse")
	fl.BoolVar(&o.Strict, "strict", false, "refuse a file with any warning, as 'pi validate --strict' does (default: strict in the config file)")
	fl.BoolVar(&o.Web, "web", false, "when the run ends, open its report in the browser (as 'pi runs report --web')")
	eachFlags(fl, &o.eachOptions)
}

// fillCache checks the step cache's flags.
func (o *runOptions) fillCache(cmd *cobra.Command, mode string) error {
	changed := cmd.Flags().Changed
	switch mode {
	case "on":
	case "read":
		o.CacheRead = true
	default:
		return UsageErrorf("--cache %s: want on or read", mode)
	}
	switch {
	case o.NoCache && o.CacheRead:
		return UsageErrorf("--no-cache reuses nothing and --cache=read records nothing: pick one")
	case o.NoCache && len(o.Reroll) > 0:
		return UsageErrorf("--no-cache already pays for every step: drop --reroll")
	case o.CacheRead && len(o.Reroll) > 0:
		return UsageErrorf("--reroll makes a new variant to keep, and --cache=read keeps nothing: drop one")
	case changed("max-jobs") && o.MaxJobs < 0:
		return UsageErrorf("--max-jobs %d: want 0 or more paid jobs", o.MaxJobs)
	}
	o.Budget = changed("max-jobs")
	return nil
}

// fill completes o from the arguments and the flags that need parsing, and refuses every
// combination that would otherwise be silently ignored or wrong.
func (o *runOptions) fill(cmd *cobra.Command, args []string, output string, params []string) error {
	changed := cmd.Flags().Changed
	if o.Resume != "" {
		o.Local = true
		if len(args) > 0 {
			return UsageErrorf("--resume takes the run id, not a file: the stored pipeline is run again")
		}
	} else {
		if len(args) != 1 {
			return UsageErrorf("pi run needs one pipeline FILE (- reads standard input)")
		}
		o.File = args[0]
	}
	o.StrictFromConfig = !changed("strict")
	format, err := outputFormat(output)
	if err != nil {
		return err
	}
	o.Output = format
	if o.Params, err = parseParamFlags(params); err != nil {
		return err
	}
	switch {
	case len(o.Repay) > 0 && o.Resume == "":
		return UsageErrorf("--repay pays again for a job an interrupted run may have made: it goes with --resume ID")
	case o.DryRun && o.Resume != "":
		return UsageErrorf("--dry-run shows a pipeline FILE before it runs; a resumed run's steps are shown by 'pi runs get %s'", o.Resume)
	case o.DryRun && o.Detach:
		return UsageErrorf("--dry-run creates no run, so there is nothing to --detach from")
	case o.DryRun && (changed("timeout") || changed("interval")):
		return UsageErrorf("--dry-run runs nothing, so there is nothing to time or follow: drop --timeout and --interval")
	case o.DryRun && changed("output") && o.Output != render.FormatJSON:
		return UsageErrorf("--dry-run prints JSON (the body, or with --local the plan): -o %s does not apply (-o json is accepted, for --jq)", o.Output)
	case o.Detach && o.Local:
		return UsageErrorf("--detach is for runs on the Pi API: a --local run executes in this pi process (run it in the background instead)")
	case changed("sandbox-rate-limit") && !o.Sandbox:
		return UsageErrorf("--sandbox-rate-limit limits the simulated server of --sandbox: add --sandbox (the Pi API has its own limit, which pi paces itself by)")
	case o.Detach && o.Sandbox:
		return UsageErrorf("--detach with --sandbox: the sandbox lives in this pi process, so the run would end with it; drop --detach")
	case o.Detach && changed("timeout"):
		return UsageErrorf("--timeout bounds following the run; --detach does not follow it (use 'pi runs get ID --wait --timeout ...')")
	case o.DryRun && o.Download != "":
		return UsageErrorf("--dry-run runs nothing, so --download would have nothing to save")
	case o.DryRun && o.Web:
		return UsageErrorf("--dry-run runs nothing, so --web would have no report to open")
	case o.Detach && o.Web:
		return UsageErrorf("--web opens the report when the run ends; --detach does not wait for it (use 'pi runs report ID --web' later)")
	case o.Detach && o.Download != "":
		return UsageErrorf("--download saves the images when the run ends; --detach does not wait for it (use 'pi runs download ID' later)")
	case o.Detach && changed("interval"):
		return UsageErrorf("--interval is how often a followed run is re-read; --detach does not follow it")
	case o.Local && changed("interval"):
		return UsageErrorf("--interval applies to runs on the Pi API: a --local run is shown as it happens")
	case !o.Local && changed("concurrency"):
		return UsageErrorf("--concurrency applies to --local runs only: the Pi API schedules its own runs")
	case !o.Local && changed("fail-fast"):
		return UsageErrorf("--fail-fast applies to --local runs only: the Pi API schedules its own runs")
	case o.Concurrency < 1:
		return UsageErrorf("--concurrency %d: want 1 or more steps at once", o.Concurrency)
	case o.Timeout < 0:
		return UsageErrorf("--timeout %s: want a positive duration such as 90s or 15m", o.Timeout)
	case changed("interval") && (o.Interval < minFollowInterval || o.Interval > maxFollowInterval):
		return UsageErrorf("--interval %s: want %s to %s", o.Interval, minFollowInterval, maxFollowInterval)
	}
	return nil
}

// runRun is `pi run` once its options are checked: one dispatch to a local or remote run,
// then one finish that turns how it ended into messages, downloads and the exit code.
func runRun(ctx context.Context, o *runOptions) error {
	start := time.Now() // --timeout covers the run and its downloads
	// An in-process sandbox serves until the run's images are downloaded, in finish.
	clients := &piClients{o: o}
	defer clients.close()
	if o.DryRun {
		return runDryRun(ctx, o, clients)
	}
	if batch, err := runEach(ctx, o); batch {
		return err // --each, or --resume of a batch
	}
	var (
		res runResult
		err error
	)
	if o.Local {
		// runLocal takes the stored pipeline of a resumed run, or o.File.
		res, err = runLocal(ctx, o, clients)
	} else {
		res, err = runRemote(ctx, o, clients)
	}
	if err != nil {
		return err
	}
	var download func(*run.Run) error
	if o.Download != "" {
		download = func(r *run.Run) error {
			dctx := ctx
			if o.Timeout > 0 {
				var cancel context.CancelFunc
				dctx, cancel = context.WithDeadline(ctx, start.Add(o.Timeout))
				defer cancel()
			}
			return o.DownloadImages(dctx, r, downloadSpec{Dir: o.Download, Quiet: o.Quiet, API: clients.apiBase(), Timeout: o.Timeout})
		}
	}
	err = finish(o.IO, res, download)
	if o.Web && res.how == outcomeEnded && res.run != nil && res.run.Status.Terminal() {
		if werr := o.OpenReport(ctx, res.run, o); werr != nil {
			fmt.Fprintf(o.IO.ErrOut, "warning: no report: %s\n", safe.Text(werr.Error()))
		}
	}
	if showsSandboxImagesHint(o, res) {
		sandboxImagesHint(o.IO, res.run)
	}
	return err
}

// showsSandboxImagesHint: a --sandbox run that ended, shown for a person, whose images
// were neither downloaded nor opened.
func showsSandboxImagesHint(o *runOptions, res runResult) bool {
	return o.Sandbox && o.Download == "" && !o.Web && !o.Quiet && res.how == outcomeEnded && isTextFormat(o.Output)
}

// sandboxImagesHint tells a person at a terminal how to see the ads of r, a run whose jobs
// a sandbox inside pi made: the image URLs printed are that sandbox's, which ends with the
// pi it runs in (the report and a download read the sandbox's files after it).
func sandboxImagesHint(ios *render.IOStreams, r *run.Run) {
	if !ios.IsStderrTTY() || r == nil {
		return
	}
	for i := range r.Steps {
		s := &r.Steps[i]
		if (s.Status == run.StepCompleted || s.Status == run.StepReused) && catalog.ResultRole(s.Action, s.Result, catalog.RoleImage) != "" {
			id := shortID(r.ID)
			// short lines: a sentence wrapped by a 60-column terminal cuts words
			fmt.Fprintf(ios.ErrOut, "The image URLs above end with the pi whose sandbox served them:\n  pi runs report %s --web   to see the ads\n  pi runs download %s       to save them\n", id, id)
			return
		}
	}
}

// isTextFormat: the output is for a person (a table or plain lines), not JSON.
func isTextFormat(f render.Format) bool {
	return f == render.FormatTable || f == render.FormatPlain || f == ""
}

// piClients gives a run its Pi API client when it first needs one: with --sandbox, the
// client of an in-process sandbox started then and stopped by close.
type piClients struct {
	o    *runOptions
	sess *sandboxSession
	// db is the sandbox database to open ("" for this machine's): a rerun's run's.
	db string
}

// sandbox starts the sandbox (once) and returns its client.
func (c *piClients) sandbox(ctx context.Context) (*piapi.Client, error) {
	cl, sess, err := c.o.StartSandbox(ctx, sandboxSpec{DB: c.db, RateLimit: c.o.SandboxRateLimit})
	if err != nil {
		return nil, err
	}
	c.close()
	c.sess = sess
	return cl, nil
}

// apiBase is the base URL of the Pi API the run used: the sandbox's, or the configured one.
func (c *piClients) apiBase() string {
	if c.sess != nil {
		return c.sess.inst.URL
	}
	if c.o.APIBase != nil {
		return c.o.APIBase()
	}
	return ""
}

// sandboxDB is the database of the sandbox started, "" when none was.
func (c *piClients) sandboxDB() string {
	if c.sess == nil {
		return ""
	}
	return c.sess.DB
}

// cacheJobs is how the step cache asks cl (the sandbox's client, or the API's) about jobs.
func (c *piClients) cacheJobs(cl *piapi.Client) cacheJobs {
	j := cacheJobs{c: cl}
	if c.sess != nil {
		j.sandbox = c.sess.inst.URL
	}
	return j
}

func (c *piClients) close() {
	if c.sess != nil {
		c.sess.Close()
		c.sess = nil
	}
}

// readPipelineFile reads a pipeline argument: "-" is standard input, named "<stdin>" in
// messages and records.
func readPipelineFile(ios *render.IOStreams, path string) (name string, data []byte, err error) {
	if path == "-" {
		data, err = pipeline.ReadLimited(ios.In, "<stdin>")
		return "<stdin>", data, err
	}
	data, err = pipeline.ReadFile(path)
	return path, data, err
}
