package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/waves"
)

// outputFormat maps -o to a render format; "text" (the local default) is the table.
func outputFormat(s string) (render.Format, error) {
	if s == "text" {
		return render.FormatTable, nil
	}
	fm, err := render.ParseFormat(s)
	if err != nil {
		return "", UsageErrorf("-o %s: %v", s, err)
	}
	return fm, nil
}

// loadForRun checks a pipeline file (or "-", stdin) for mode, shows its diagnostics with
// their source lines, and returns it with params applied, with its source (the name and
// text the run's record keeps); an unreadable or invalid file, or under strict one with a
// warning, is a usage error (exit 2). More steps to send than the Runs API's 10 go in
// waves (run_waves.go).
func loadForRun(o *runOptions, file string, mode pipeline.Mode, params map[string]string, data []byte) (*pipeline.Pipeline, *pipeline.Source, error) {
	p, src, ds, err := pipeline.Load(file, pipeline.Options{Mode: mode, Params: params, Data: data, Stdin: o.IO.In})
	if err != nil {
		return nil, nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %s", src.Name, readProblem(err))}
	}
	if p != nil && len(ds) > 0 && o.strict() {
		ds.Strict()
		p = nil
	}
	printDiagnosticsWithSource(o.IO, ds, src.Data)
	if p == nil {
		return nil, nil, SilentExit(ExitUsage)
	}
	return p, src, nil
}

// stepLocator says where each step of p is written in its file, for the annotation of a
// failed step under GitHub Actions (render.Options.Locate); nothing for standard input,
// nor outside GitHub Actions, where nothing asks: the locator keeps the file's Source
// (at 100,000 steps about 30 MiB with the text) for as long as the run.
func stepLocator(ios *render.IOStreams, p *pipeline.Pipeline, src *pipeline.Source) func(string) (string, pipeline.Pos) {
	if src == nil || src.Name == pipeline.StdinName || !ios.InGitHubActions() {
		return nil
	}
	at := src.StepLocator(p)
	return func(id string) (string, pipeline.Pos) { return src.Name, at(id) }
}

// strict reports whether a warning refuses the file: --strict, or without the flag
// strict: true in the config file.
func (o *runOptions) strict() bool {
	if !o.StrictFromConfig || o.APIConfig == nil {
		return o.Strict
	}
	cfg, err := o.APIConfig()
	return err == nil && cfg.Strict
}

// runRemote validates the file for the API, looks its steps up in the step cache, creates
// a run of what is left to pay for and follows it to its end.
func runRemote(ctx context.Context, o *runOptions, clients *piClients) (runResult, error) {
	p, src, err := loadForRun(o, o.File, pipeline.Remote, o.Params, o.row.text())
	if err != nil {
		return runResult{}, err
	}
	if err := checkReroll(p, o.Reroll); err != nil {
		return runResult{}, err
	}
	if note := localOnlyNote(p); note != "" && o.row == nil { // a batch says it once
		fmt.Fprintln(o.IO.ErrOut, note)
	}
	t, err := o.remoteTarget(ctx, clients)
	if err != nil {
		return runResult{}, err
	}
	sub := &submission{o: o, t: t, file: src.Name, data: src.Data, locate: stepLocator(o.IO, p, src)}
	sub.startClock(ctx)
	defer sub.stopClock()
	pp := o.planPaid(sub.createCtx, p, t.server, clients.cacheJobs(t.c), nil)
	defer pp.close()
	return sub.submit(ctx, pp)
}

// createdRun is the run as the create answer describes it (waves.CreatedRun).
func createdRun(p *pipeline.Pipeline, created *piapi.CreatedRun) *run.Run {
	return waves.CreatedRun(p, created)
}

// followRemote follows a run on the Pi API until it ends, --timeout (deadline) passes or
// ctx is cancelled, and shows it: the end with its results, or nothing more when pi stops
// following. shown is the state known before following (pi run: the create answer), or
// nil with only an id.
func followRemote(ctx context.Context, c *piapi.Client, prog render.Progress, shown *run.Run, id string, deadline time.Time, interval time.Duration) (runResult, error) {
	if shown != nil {
		prog.Start(shown)
	}
	fctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		fctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	r, err := c.Follow(fctx, id, shown, prog, piapi.FollowOptions{Interval: interval, Deadline: deadline})
	if r == nil {
		r = &run.Run{ID: id}
	}
	res := runResult{run: r, where: placeRemote}
	switch {
	case errors.Is(err, piapi.ErrFollowTimeout) || err != nil && ctx.Err() == nil && fctx.Err() != nil:
		prog.Stop()
		res.how = outcomeTimeout
		return res, nil
	case ctx.Err() != nil:
		prog.Stop()
		res.how = outcomeInterrupted
		return res, nil
	case err != nil:
		prog.Stop()
		return runResult{}, err
	}
	res.run = explainChildFailures(ctx, c, r)
	if err := prog.Finish(res.run); err != nil {
		return runResult{}, fmt.Errorf("write result: %w", err)
	}
	return res, nil
}

// createFailed is a run creation that did not get its answer: cut off by Ctrl-C or
// --timeout (an outcome, whose message says whether the run may exist, which is known only
// when the request reached the server), else the API error (exit 4).
func createFailed(ctx, createCtx context.Context, timeout time.Duration, err error) (runResult, error) {
	var st *piapi.StoppedError
	note := ""
	if errors.As(err, &st) && st.Last != nil {
		if st.Last.MayExist {
			note = "; the run may have been created: check before running again"
		}
		if st.Last.RequestID != "" {
			note = " (request id " + st.Last.RequestID + ")" + note
		}
	}
	res := runResult{where: placeCreating, timeout: timeout, note: note}
	switch {
	case ctx.Err() != nil:
		res.how = outcomeInterrupted
		return res, nil
	case createCtx.Err() != nil:
		res.how = outcomeTimeout
		return res, nil
	}
	return runResult{}, fmt.Errorf("create run: %w", err)
}

// localOnlyNote says which steps set retry or timeout, which only the local engine
// honours (params are not in it: pi substitutes them before sending), or "".
func localOnlyNote(p *pipeline.Pipeline) string {
	var keys, steps []string
	retry, timeout := false, false
	for _, s := range p.Steps {
		if s.Retry != nil || s.Timeout != 0 {
			steps = append(steps, s.ID)
		}
		retry = retry || s.Retry != nil
		timeout = timeout || s.Timeout != 0
	}
	if len(steps) == 0 {
		return ""
	}
	if retry {
		keys = append(keys, "retry")
	}
	if timeout {
		keys = append(keys, "timeout")
	}
	if len(steps) > 3 {
		steps = append(steps[:3], "...")
	}
	return fmt.Sprintf("note: %s (steps %s) apply to --local runs only: they are not sent to the Pi API",
		strings.Join(keys, " and "), strings.Join(steps, ", "))
}
