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
// their source lines, and returns it with params applied; an unreadable or invalid file is
// a usage error (exit 2).
func loadForRun(f *Factory, file string, mode pipeline.Mode, params map[string]string) (*pipeline.Pipeline, error) {
	p, src, ds, err := pipeline.Load(file, pipeline.Options{Mode: mode, Params: params, Stdin: f.IO.In})
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %s", src.Name, readProblem(err))}
	}
	printDiagnosticsWithSource(f.IO, ds, src.Data)
	if p == nil {
		return nil, SilentExit(ExitUsage)
	}
	return p, nil
}

// runRemote validates the file for the API, creates the run and follows it to its end.
func runRemote(ctx context.Context, f *Factory, o *runOptions) error {
	format := o.Output
	p, err := loadForRun(f, o.File, pipeline.Remote, o.Params)
	if err != nil {
		return err
	}
	if note := localOnlyNote(p); note != "" {
		fmt.Fprintln(f.IO.ErrOut, note)
	}
	body, err := p.RunsBody()
	if err != nil {
		return fmt.Errorf("encode run body: %w", err)
	}

	var c *piapi.Client
	if o.Sandbox {
		var stop func()
		if c, stop, err = f.sandboxClient(ctx); err != nil {
			return err
		}
		defer stop()
	} else if c, err = f.apiClient(); err != nil {
		return &ExitError{Code: ExitAPI, Err: err}
	}

	var deadline time.Time
	createCtx := ctx
	if o.Timeout > 0 {
		deadline = time.Now().Add(o.Timeout)
		var cancel context.CancelFunc
		createCtx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	// --timeout and Ctrl-C own the creation too: its retries and Retry-After waits.
	created, err := c.CreateRun(createCtx, body)
	if err != nil {
		return createFailed(f, ctx, createCtx, o.Timeout, err)
	}
	if o.Detach {
		fmt.Fprintln(f.IO.Out, created.RunID)
		return nil
	}
	showProgress := !o.Quiet && format != render.FormatJSON
	prog := withDownload(ctx, f, o, render.NewProgress(f.IO, render.Options{Format: format, Quiet: o.Quiet, JobSummary: true}))
	refresh := followRefresh(showProgress)
	if o.Interval > 0 {
		refresh = o.Interval
	}
	return finishFollow(ctx, f, c, prog, createdRun(p, created), created.RunID, deadline, refresh)
}

// createdRun is the run as the create answer describes it, completed from the pipeline
// (actions, dependencies), so it is on screen before the first long-poll answers.
func createdRun(p *pipeline.Pipeline, created *piapi.CreatedRun) *run.Run {
	// The server's created_at comes with the first poll; until then the age counts from
	// now, in the API's whole seconds.
	r := &run.Run{ID: created.RunID, Status: run.Status(created.Status), CreatedAt: time.Now().Truncate(time.Second)}
	if r.Status == "" {
		r.Status = run.Pending
	}
	status := map[string]string{}
	for _, s := range created.Steps {
		status[s.ID] = s.Status
	}
	for _, s := range p.Steps {
		st := run.StepStatus(status[s.ID])
		if st == "" {
			st = run.StepPending
		}
		r.Steps = append(r.Steps, run.Step{ID: s.ID, Action: s.Action, Status: st, DependsOn: s.DependsOn})
	}
	return r
}

// finishFollow follows a run and turns its end into the exit code DESIGN.md gives. shown is
// the state known before following (pi run: the create answer), or nil with only an id.
func finishFollow(ctx context.Context, f *Factory, c *piapi.Client, prog render.Progress, shown *run.Run, id string, deadline time.Time, refresh time.Duration) error {
	if shown != nil {
		prog.Start(shown)
	}
	// The deadline bounds every request of the follow (a GET that never answers), not just
	// the waits between them.
	fctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		fctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	r, err := newFollower(c, prog, refresh, deadline).follow(fctx, shown, id)
	hint := fmt.Sprintf("follow it with: pi runs get %s --wait", id)
	switch {
	case errors.Is(err, errFollowTimeout) || err != nil && ctx.Err() == nil && fctx.Err() != nil:
		prog.Stop()
		fmt.Fprintf(f.IO.ErrOut, "timeout: run %s is still %s; %s\n", id, statusOf(r), hint)
		return SilentExit(5)
	case ctx.Err() != nil:
		prog.Stop()
		fmt.Fprintf(f.IO.ErrOut, "interrupted: run %s goes on on the server; %s\n", id, hint)
		return SilentExit(130)
	case err != nil:
		prog.Stop()
		return err
	}
	r = explainChildFailures(ctx, c, r)
	if err := prog.Finish(r); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return exitForRun(r)
}

func statusOf(r *run.Run) string {
	if r == nil {
		return "unknown"
	}
	return string(r.Status)
}

// createFailed reports a run creation that did not get its answer: cut off by Ctrl-C (exit
// 130) or --timeout (exit 5), else the API error (exit 4). Each says whether the run may
// exist, which is known only when the request reached the server.
func createFailed(f *Factory, ctx, createCtx context.Context, timeout time.Duration, err error) error {
	var st *piapi.StoppedError
	mayExist := ""
	if errors.As(err, &st) && st.Last != nil {
		if st.Last.MayExist {
			mayExist = "; the run may have been created: check before running again"
		}
		if st.Last.RequestID != "" {
			mayExist = " (request id " + st.Last.RequestID + ")" + mayExist
		}
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(f.IO.ErrOut, "interrupted while creating the run%s\n", mayExist)
		return SilentExit(ExitInterrupted)
	case createCtx.Err() != nil:
		fmt.Fprintf(f.IO.ErrOut, "timeout: --timeout %s passed while creating the run%s\n", timeout, mayExist)
		return SilentExit(ExitTimeout)
	}
	return fmt.Errorf("create run: %w", err)
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
