package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/reuse"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// runsRerunOptions are the options of `pi runs rerun`: the run, what to run again, and how
// to run it (pi run's output, timeout, detach and budget options).
type runsRerunOptions struct {
	ID     string
	Steps  []string // --step; none: --failed
	output string
	run    *runOptions
}

func newRunsRerunCmd(f *Factory, runF func(*runsRerunOptions) error) *cobra.Command {
	o := &runsRerunOptions{run: &runOptions{runDeps: f.runDeps()}}
	var failed bool
	cmd := &cobra.Command{
		Annotations: map[string]string{signalsAnnotation: "yes"},
		Use:         "rerun ID",
		Short:       "Run a recorded run again, paying only for its failed (or chosen) steps",
		Long: `Run a recorded run again (remote, --sandbox or --local: where it ran) as a new run that
pays only for what did not succeed. With --failed (the default) the failed, skipped,
cancelled and never-run steps run again, with everything downstream of them; with --step S
(repeatable; a matrix step's id names all its expansions) S runs again, as a new job, with
everything downstream. Every other step is not run: its result is the earlier job's,
passed to the steps that take it as a literal input (its input_map entry becomes input),
and it leaves the body sent to the Runs API, so a pipeline of 14 steps with 5 reused fits
the API's 10. A result that cannot be passed as a literal (a null brand_id, a whole-result
mapping) runs its step again, and pi says why.

The new run is recorded with the run it reruns; 'pi runs get' of it shows the whole
pipeline, the reused steps as reused with their earlier jobs. The steps that run are looked
up in the step cache as pi run does (not the --step ones: they pay for a new job).`,
		Example: `  pi runs rerun 45de2349
  pi runs rerun 45de2349 --step generate_base --dry-run
  pi runs rerun 45de2349 --max-jobs 2 -o json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ID = args[0]
			if err := checkRunRef(o.ID); err != nil {
				return err
			}
			if failed && len(o.Steps) > 0 {
				return UsageErrorf("--failed and --step choose what runs again differently: give one")
			}
			ro := o.run
			changed := cmd.Flags().Changed
			format, err := outputFormat(o.output)
			if err != nil {
				return err
			}
			ro.Output, ro.Budget = format, changed("max-jobs")
			switch {
			case ro.Budget && ro.MaxJobs < 0:
				return UsageErrorf("--max-jobs %d: want 0 or more paid jobs", ro.MaxJobs)
			case ro.DryRun && (ro.Detach || changed("timeout")):
				return UsageErrorf("--dry-run runs nothing: drop --detach and --timeout")
			case ro.Timeout < 0:
				return UsageErrorf("--timeout %s: want a positive duration such as 90s or 15m", ro.Timeout)
			}
			ro.Concurrency = defaultLocalConcurrency
			if runF != nil {
				return runF(o)
			}
			return runsRerun(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&failed, "failed", false, "run again the steps that did not succeed, and what is downstream (the default)")
	fl.StringArrayVar(&o.Steps, "step", nil, "run again this step and what is downstream of it (repeatable)")
	fl.StringVarP(&o.output, "output", "o", "", "output: table (default on a terminal), plain, json or jsonl")
	fl.BoolVarP(&o.run.Quiet, "quiet", "q", false, "no progress on stderr, only the result")
	fl.DurationVar(&o.run.Timeout, "timeout", 0, "stop following after this long (exit 5); a --local run is cancelled")
	fl.BoolVar(&o.run.Detach, "detach", false, "create the run, print its id and exit (runs on the Pi API)")
	fl.BoolVar(&o.run.DryRun, "dry-run", false, "say what would run and what is reused; send nothing")
	fl.IntVar(&o.run.MaxJobs, "max-jobs", 0, "refuse (exit 2, nothing sent) a rerun that would pay for more jobs than this")
	return cmd
}

// runsRerun reruns a recorded run where it ran.
func runsRerun(ctx context.Context, f *Factory, o *runsRerunOptions) error {
	recorded := newRecordedRuns(ctx, f)
	defer recorded.close()
	rec, ok, err := recorded.lookup(o.ID)
	switch {
	case err != nil:
		return err
	case !ok:
		return UsageErrorf("run %s is not recorded on this machine: pi reruns the runs it started or submitted ('pi runs list' shows them)", o.ID)
	case recorded.note != "":
		return &ExitError{Code: ExitAPI, Err: errors.New(recorded.note)}
	}
	if r := rec.Run; !r.Status.Terminal() && !store.Interrupted(r.Status, rec.Owner) {
		return UsageErrorf("run %s is still %s: wait for it ('pi runs get %s --wait'), then rerun it", r.ID, r.Status, shortID(r.ID))
	}
	local := rec.Place == "" || rec.Place == store.PlaceLocal
	mode := pipeline.Remote
	if local {
		mode = pipeline.Local
	}
	p, src, ds, err := pipeline.Load(rec.File, pipeline.Options{Mode: mode, Params: rec.Params, Data: recordedText(rec.Pipeline)})
	if err != nil || p == nil {
		printDiagnosticsWithSource(f.IO, ds, src.Data)
		return UsageErrorf("run %s: its recorded pipeline no longer loads", rec.Run.ID)
	}
	sel, err := reuse.Select(p, rec.Run, reuse.Selection{Steps: o.Steps})
	var unknown *reuse.UnknownStepError
	switch {
	case errors.Is(err, reuse.ErrNothingFailed):
		return UsageErrorf("run %s: %v", shortID(rec.Run.ID), err)
	case errors.As(err, &unknown):
		return &ExitError{Code: ExitUsage, Err: err}
	case err != nil:
		return err
	}
	ro := o.run
	ro.Params, ro.Reroll, ro.File = rec.Params, o.Steps, rec.File
	if !ro.Quiet {
		fmt.Fprint(f.IO.ErrOut, whyRerun(p, rec.Run.ID, sel))
	}
	if local {
		return rerunLocal(ctx, f, ro, rec, sel)
	}
	return rerunRemote(ctx, f, ro, recorded, rec, p, src, sel)
}

// recordedText is a record's pipeline text: even empty, never the file of its name now.
func recordedText(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// whyRerun says which steps run again, and why.
func whyRerun(p *pipeline.Pipeline, id string, sel *reuse.Rerun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rerun of %s: %d of %d steps run again\n", id, len(sel.Why), len(p.Steps))
	for _, st := range p.Steps {
		if why, ok := sel.Why[st.ID]; ok {
			fmt.Fprintf(&b, "  %s: %s\n", st.ID, why)
		}
	}
	return b.String()
}

// rerunRemote sends the rerun to the server the run ran on: its sandbox (its database), or
// the Pi API pi is set for, which must be the run's (the jobs it reuses are that server's).
func rerunRemote(ctx context.Context, f *Factory, o *runOptions, recorded *recordedRuns, rec *store.Record, p *pipeline.Pipeline, src *pipeline.Source, sel *reuse.Rerun) error {
	clients := &piClients{o: o}
	defer clients.close()
	t := &remoteTarget{where: rec.Where, server: cache.Sandbox}
	t.where.RemoteID = ""
	if rec.Place == store.PlaceSandbox {
		// The sandbox that read the run back runs the rerun: one pi opens a sandbox at a time.
		clients.sess, t.c = recorded.sess, recorded.client
		recorded.sess = nil
		if t.c == nil {
			return &ExitError{Code: ExitAPI, Err: fmt.Errorf("run %s: its sandbox could not be opened", rec.Run.ID)}
		}
	} else {
		cfg, err := o.APIConfig()
		if err != nil {
			return &ExitError{Code: ExitAPI, Err: err}
		}
		if !sameServer(cfg.BaseURL, rec.Server) {
			return UsageErrorf("run %s ran on %s, and pi is set for %q: the jobs it reuses are that server's (give --base-url %s)", rec.Run.ID, rec.Server, cfg.BaseURL, rec.Server)
		}
		if t.c, err = o.APIClient(); err != nil {
			return &ExitError{Code: ExitAPI, Err: err}
		}
		t.server = cache.ServerIdentity(cfg.BaseURL, cfg.APIKey)
	}
	sub := &submission{o: o, t: t, file: src.Name, data: src.Data, rerunOf: rec.Run.ID, locate: stepLocator(o.IO, p, src)}
	sub.startClock(ctx)
	defer sub.stopClock()
	pp := o.planPaid(sub.createCtx, p, t.server, clients.cacheJobs(t.c), sel.Known)
	defer pp.close()
	if o.DryRun {
		return dryRerun(f, o, pp)
	}
	res, err := sub.submit(ctx, pp)
	if err != nil {
		return err
	}
	return finish(f.IO, res, nil)
}

// rerunLocal runs the rerun with pi's own engine, the reused steps kept as the earlier
// run's.
func rerunLocal(ctx context.Context, f *Factory, o *runOptions, rec *store.Record, sel *reuse.Rerun) error {
	o.Local, o.Sandbox = true, rec.Server != ""
	o.rerun = &localRerun{rec: rec, known: sel.Known}
	if o.DryRun {
		p, _, _, _ := pipeline.Load(rec.File, pipeline.Options{Mode: pipeline.Local, Params: rec.Params, Data: recordedText(rec.Pipeline)})
		pl := reuse.Rewrite(p, sel.Known)
		return dryRerun(f, o, &paidPlan{Planned: &cache.Planned{Plan: pl, Decisions: map[string]*cache.Decision{}}, p: p})
	}
	clients := &piClients{o: o, db: rec.Server}
	defer clients.close()
	res, err := runLocal(ctx, o, clients)
	if err != nil {
		return err
	}
	return finish(f.IO, res, nil)
}

// dryRerun prints what a rerun would do: per step, reuse or pay, and the paid jobs.
func dryRerun(f *Factory, o *runOptions, pp *paidPlan) error {
	if err := o.budget(pp); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "dry run: nothing was sent; %d paid %s\n%s", pp.paidJobs(), pluralWord(pp.paidJobs(), "job", "jobs"), pp.perStep())
	return nil
}

// localRerun is what a local rerun reruns and the results it reuses.
type localRerun struct {
	rec   *store.Record
	known map[string]reuse.Known
}

// prior is the run the engine resumes from: the reused steps with their earlier jobs, the
// others not run yet.
func (lr *localRerun) prior(p *pipeline.Pipeline) *run.Run {
	r := &run.Run{ID: lr.rec.Run.ID, Status: run.Failed}
	for _, st := range p.Steps {
		s := run.Step{ID: st.ID, Action: st.Action, Status: run.StepPending, DependsOn: st.DependsOn}
		if k, ok := lr.known[st.ID]; ok {
			s.Status, s.JobID, s.Result = run.StepReused, k.JobID, k.Result
		}
		r.Steps = append(r.Steps, s)
	}
	return r
}
