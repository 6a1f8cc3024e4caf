package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// localPollInterval is how often `runs get --wait` re-reads a local run that another pi
// process is executing.
const localPollInterval = 500 * time.Millisecond

type runsGetOptions struct {
	IO *render.IOStreams
	// APIClient is the Pi API's client, for a run that is not local.
	APIClient func() (*piapi.Client, error)

	ID      string
	Wait    bool
	Timeout time.Duration
	Format  render.Format
	// Interval is how often a run on the Pi API is re-read with --wait; 0 the default.
	Interval time.Duration
	// LocalRun, when set, is asked first (the local store); found false falls through to the API.
	LocalRun func(id string) (*store.Record, bool, error)
	// recorded is what LocalRun reads through: the server of a remote run it read.
	recorded *recordedRuns
}

func newRunsGetCmd(f *Factory, runF func(*runsGetOptions) error) *cobra.Command {
	o := &runsGetOptions{IO: f.IO, APIClient: f.apiClient}
	var output string
	cmd := &cobra.Command{
		Annotations: map[string]string{signalsAnnotation: "yes"},
		Use:         "get ID",
		Short:       "Show a run, or follow it with --wait",
		Long: `Show a run: a local run recorded on this machine (pi run --local), else the run on the
Pi API. With --wait, follow it live until it ends, as pi run does.

The exit code tells the run's state, as for pi run: 0 completed (or still running, without
--wait), 1 failed, 3 cancelled; 2 for an id that is not a UUID, 4 when the API does not
know the run or cannot be reached, 5 when --timeout passed first, 130 on Ctrl-C.`,
		Example: `  pi runs get 9f175af9-589b-44e8-86b9-1a434702245a
  pi runs get 9f175af9-589b-44e8-86b9-1a434702245a --wait --timeout 10m
  pi runs get 9f175af9-589b-44e8-86b9-1a434702245a -o json | jq '.steps[].result'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ID = args[0]
			if err := checkRunRef(o.ID); err != nil {
				return err
			}
			format, err := outputFormat(output)
			if err != nil {
				return err
			}
			o.Format = format
			if cmd.Flags().Changed("interval") && (o.Interval < minFollowInterval || o.Interval > maxFollowInterval) {
				return UsageErrorf("--interval %s: want %s to %s", o.Interval, minFollowInterval, maxFollowInterval)
			}
			o.recorded = newRecordedRuns(cmd.Context(), f)
			defer o.recorded.close()
			o.LocalRun = o.recorded.lookup
			if runF != nil {
				return runF(o)
			}
			return runsGet(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.Wait, "wait", false, "follow the run until it ends")
	fl.DurationVarP(&o.Interval, "interval", "i", 0, "with --wait: how often a run on the Pi API is re-read (default 2s; 30s with -o json)")
	fl.DurationVar(&o.Timeout, "timeout", 0, "with --wait: stop following after this long (exit 5; the run goes on)")
	fl.StringVarP(&output, "output", "o", "table", "output: table, plain, json or jsonl")
	return cmd
}

func runsGet(ctx context.Context, o *runsGetOptions) error {
	var deadline time.Time
	if o.Timeout > 0 {
		deadline = time.Now().Add(o.Timeout)
	}
	if o.LocalRun != nil {
		rec, ok, err := o.LocalRun(o.ID)
		if err != nil {
			return err
		}
		if ok {
			follow := followLocal
			if rec.Place != "" && rec.Place != store.PlaceLocal {
				follow = followRecorded
			}
			res, err := follow(ctx, o, rec, deadline)
			if err != nil {
				return err
			}
			if rec.Where.Sandboxed() && isTextFormat(o.Format) {
				sandboxImagesHint(o.IO, res.run)
			}
			return finish(o.IO, res, nil)
		}
	}
	c, err := o.APIClient()
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: fmt.Errorf("run %s is not a local run of this machine, and %w", o.ID, err)}
	}
	prog := render.NewProgress(o.IO, render.Options{Format: o.Format, Quiet: !o.Wait, JobSummary: o.Wait})
	if !o.Wait {
		r, err := c.GetRun(ctx, o.ID, false, 0)
		if err != nil {
			return fmt.Errorf("get run %s: %w", o.ID, err)
		}
		r = explainChildFailures(ctx, c, r)
		if err := prog.Finish(r); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
		return finish(o.IO, runResult{run: r, where: placeRemote}, nil)
	}
	interval := piapi.FollowInterval(o.Format != render.FormatJSON)
	if o.Interval > 0 {
		interval = o.Interval
	}
	res, err := followRemote(ctx, c, prog, nil, o.ID, deadline, interval)
	if err != nil {
		return err
	}
	return finish(o.IO, res, nil)
}

// followRecordedRun follows the recorded run id to its end (or timeout) on ios, as 'pi runs
// get ID --wait' does, quietly: runDeps.FollowRecorded.
func followRecordedRun(f *Factory) func(ctx context.Context, ios *render.IOStreams, id string, timeout time.Duration) (runResult, error) {
	return func(ctx context.Context, ios *render.IOStreams, id string, timeout time.Duration) (runResult, error) {
		rr := newRecordedRuns(ctx, f)
		defer rr.close()
		rec, ok, err := rr.lookup(id)
		if err != nil {
			return runResult{}, err
		}
		if !ok {
			return runResult{}, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
		}
		var deadline time.Time
		if timeout > 0 {
			deadline = time.Now().Add(timeout)
		}
		return followRecorded(ctx, &runsGetOptions{IO: ios, Wait: true, Format: render.FormatPlain, recorded: rr}, rec, deadline)
	}
}

// followRecorded shows a remote or sandbox run this machine recorded, as its server has it
// now (its reused steps as recorded); with --wait it follows it until it ends, then records
// it and what it paid for. A run whose server cannot be asked is shown as recorded.
func followRecorded(ctx context.Context, o *runsGetOptions, rec *store.Record, deadline time.Time) (runResult, error) {
	rr := o.recorded
	if rr != nil && rr.note != "" {
		fmt.Fprintln(o.IO.ErrOut, "note: "+rr.note)
	}
	if len(rec.ServerRuns) > 0 {
		return followLogical(ctx, o, rec, deadline)
	}
	prog := render.NewProgress(o.IO, render.Options{Format: o.Format, Quiet: !o.Wait, JobSummary: o.Wait})
	if rr == nil || rr.client == nil || !o.Wait || rec.Run.Status.Terminal() {
		if err := prog.Finish(rec.Run); err != nil {
			return runResult{}, fmt.Errorf("write result: %w", err)
		}
		return runResult{run: rec.Run, where: placeRemote}, nil
	}
	recorded := rec.Run
	merged := &mergedProgress{Progress: prog, merge: func(r *run.Run) *run.Run { return rr.view(recorded, r) }}
	interval := piapi.FollowInterval(o.Format != render.FormatJSON)
	if o.Interval > 0 {
		interval = o.Interval
	}
	res, err := followRemote(ctx, rr.client, merged, nil, rec.RemoteID, deadline, interval)
	if err != nil || res.run == nil || len(res.run.Steps) == 0 {
		return res, err
	}
	res.run = rr.view(recorded, res.run)
	if _, _, err := rr.lookup(rec.Run.ID); err != nil { // records the end, and what it paid for
		fmt.Fprintf(o.IO.ErrOut, "warning: %v\n", err)
	}
	return res, nil
}

// followLocal shows a run from the local records; with --wait, one that another pi process is
// still executing is re-read until it ends. A run whose pi is gone will not end by itself:
// it is shown as it was left, with how to resume it.
func followLocal(ctx context.Context, o *runsGetOptions, rec *store.Record, deadline time.Time) (runResult, error) {
	prog := render.NewProgress(o.IO, render.Options{Format: o.Format, Quiet: !o.Wait, JobSummary: o.Wait, ShowAttempts: true}) // local: attempts known
	res := runResult{run: rec.Run, where: placeWatched}
	if o.Wait && !rec.Run.Status.Terminal() && !store.Interrupted(rec.Run.Status, rec.Owner) {
		var err error
		if rec, res.how, err = waitLocal(ctx, prog, o, rec, deadline); err != nil || res.how != outcomeEnded {
			prog.Stop()
			res.run = rec.Run
			return res, err
		}
	}
	r := rec.Run
	res.run = r
	shown := r
	interrupted := store.Interrupted(r.Status, rec.Owner)
	if interrupted && o.Format != render.FormatJSON && o.Format != render.FormatJSONL {
		shown = render.Interrupted(r) // JSON keeps the record as it is
	}
	if err := prog.Finish(shown); err != nil {
		return runResult{}, fmt.Errorf("write result: %w", err)
	}
	if interrupted {
		res.how, res.owner = outcomeOrphaned, rec.Owner.PID
	}
	return res, nil
}

// waitLocal re-reads a local run another pi process executes until it ends, its pi is
// gone, the deadline passes or ctx is cancelled, showing each change; it returns the last
// record read and how the wait ended.
func waitLocal(ctx context.Context, prog render.Progress, o *runsGetOptions, rec *store.Record, deadline time.Time) (*store.Record, outcome, error) {
	r := rec.Run
	prog.Start(r)
	for !r.Status.Terminal() && !store.Interrupted(r.Status, rec.Owner) {
		wait := localPollInterval
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return rec, outcomeTimeout, nil
			}
			wait = min(wait, left)
		}
		if err := clock.Sleep(ctx, nil, wait); err != nil {
			return rec, outcomeInterrupted, nil
		}
		next, ok, err := o.LocalRun(o.ID)
		if err != nil || !ok {
			return rec, outcomeEnded, fmt.Errorf("re-reading local run %s: %v", o.ID, err)
		}
		for _, e := range run.Diff(r, next.Run, time.Now()) {
			prog.Event(e, next.Run)
		}
		rec, r = next, next.Run
	}
	return rec, outcomeEnded, nil
}
