package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/safe"
	"github.com/pi-cli/pi/internal/store"
	"github.com/pi-cli/pi/internal/waves"
)

// cutWaves plans the server runs of a pipeline of more steps than one run takes; a set of
// steps that must share a run and cannot is a usage error (exit 2) naming them.
func cutWaves(p *pipeline.Pipeline) (*waves.Plan, error) {
	plan, err := waves.CutPipeline(p)
	if msg := uncuttable(p, err); msg != "" {
		return nil, UsageErrorf("%s", msg)
	}
	return plan, err
}

// uncuttable says which steps of p cannot be cut into server runs when err (CutPipeline's)
// is a *waves.TooBigError, "" otherwise.
func uncuttable(p *pipeline.Pipeline, err error) string {
	var tb *waves.TooBigError
	if !errors.As(err, &tb) {
		return ""
	}
	ids := make([]string, len(tb.Steps))
	for k, i := range tb.Steps {
		ids[k] = p.Steps[i].ID
	}
	return fmt.Sprintf("%d steps cannot be cut into runs of at most %d: %s must run in one server run (%s), and they are %d; map a field of the result (e.g. .result.job_id) instead of the whole result, or run it with --local",
		len(p.Steps), tb.Limit, safe.Text(waves.Names(ids)), safe.Text(tb.Why), len(tb.Steps))
}

// sendWaves runs the steps pp leaves to pay for, more than one server run takes, as one
// logical run of several server runs (internal/waves): recorded under an id of its own
// with its server runs (store.Recorder: saved before shown), shown as one table, one exit
// code.
func (sub *submission) sendWaves(ctx context.Context, pp *paidPlan, rec store.Record) (runResult, error) {
	o := sub.o
	plan, err := cutWaves(pp.Pipeline)
	if err != nil {
		return runResult{}, err
	}
	if o.Detach {
		return runResult{}, UsageErrorf("--detach: the %d steps left to run go as %d server runs that pi sends one after another as results come in, so pi must stay; run it without --detach",
			len(pp.Pipeline.Steps), len(plan.Waves))
	}
	recs, err := o.Records(ctx)
	if err != nil {
		return runResult{}, err
	}
	defer recs.Close()
	start := pp.Merge(&run.Run{ID: uuid.NewString(), Status: run.InProgress, CreatedAt: time.Now()})
	rec.Run, rec.ServerRuns = start, recordedWaves(pp.Pipeline, plan, nil)
	prog := render.NewProgress(o.IO, render.Options{Format: o.Output, Quiet: o.Quiet, JobSummary: true, Locate: sub.locate})
	defer prog.Stop()
	recorder, err := store.StartRecorder(ctx, recs, rec, func(e run.Event) { prog.Event(e, nil) })
	if err != nil {
		return runResult{}, err
	}
	if !o.Quiet && o.Output != render.FormatJSONL {
		fmt.Fprintf(o.IO.ErrOut, "run %s: %d steps in %d server runs of at most %d (waves)\n", start.ID, len(pp.Pipeline.Steps), len(plan.Waves), pipeline.MaxRemoteSteps)
	}
	prog.Start(start)
	interval := piapi.FollowInterval(!o.Quiet && o.Output != render.FormatJSON)
	if o.Interval > 0 {
		interval = o.Interval
	}
	res, err := waves.Run(ctx, pp.Pipeline, plan, start, waves.Options{
		Client: sub.t.c, Interval: interval, Deadline: sub.deadline,
		Observe: recorder.Observe, Warn: prog.Warn,
		ServerRuns: func(srs []waves.ServerRun) {
			if err := recs.SaveServerRuns(context.WithoutCancel(ctx), start.ID, recordedWaves(pp.Pipeline, plan, srs)); err != nil {
				prog.Warn(fmt.Sprintf("run %s: %v", start.ID, err))
			}
		},
		Created: func(id string, steps []string) { pp.claimSteps(ctx, id, steps) },
	})
	if err != nil {
		// pi no longer sends it: the record is let go (its server runs are read again by
		// the next pi runs get, and pi runs rerun sends the rest).
		recordErr := recorder.Finish(res.Run.Status)
		prog.Stop()
		return wavesStopped(ctx, start.ID, res, err, o.Timeout, recordErr)
	}
	recordErr := recorder.Finish(res.Run.Status)
	r := explainChildFailures(ctx, sub.t.c, res.Run)
	if err := prog.Finish(r); err != nil {
		return runResult{}, fmt.Errorf("write result: %w", err)
	}
	pp.record(ctx, r)
	return runResult{run: r, where: placeRemote, recordErr: recordErr}, nil
}

// recordedWaves is the record's list of server runs: srs as Run told them, or the plan's
// waves before any was sent.
func recordedWaves(p *pipeline.Pipeline, plan *waves.Plan, srs []waves.ServerRun) []store.ServerRun {
	out := make([]store.ServerRun, len(plan.Waves))
	for w, wv := range plan.Waves {
		if srs != nil {
			out[w] = store.ServerRun(srs[w])
			continue
		}
		out[w] = store.ServerRun{Wave: w + 1}
		for _, i := range wv.Steps {
			out[w].Steps = append(out[w].Steps, p.Steps[i].ID)
		}
	}
	return out
}

// wavesStopped is a logical run pi stopped following (Ctrl-C, --timeout, an API error):
// the message names the server runs that go on on the server and the waves not sent.
func wavesStopped(ctx context.Context, id string, res *waves.Result, err error, timeout time.Duration, recordErr error) (runResult, error) {
	out := runResult{run: res.Run, where: placeWaves, timeout: timeout, recordErr: recordErr, note: goingOn(id, res)}
	switch {
	case ctx.Err() != nil:
		out.how = outcomeInterrupted
	case errors.Is(err, piapi.ErrFollowTimeout):
		out.how = outcomeTimeout
	default:
		return runResult{}, fmt.Errorf("run %s: %w\n%s", id, err, out.note)
	}
	return out, nil
}

// goingOn says which server runs of logical run id go on on the server, how to look at
// them, and which waves were not sent.
func goingOn(id string, res *waves.Result) string {
	var b strings.Builder
	var unsent, unknown []string
	for _, sr := range res.ServerRuns {
		switch {
		case sr.MayExist:
			unknown = append(unknown, fmt.Sprint(sr.Wave))
		case sr.ID == "":
			unsent = append(unsent, fmt.Sprint(sr.Wave))
		}
	}
	going := res.GoingOn()
	if len(going) == 0 {
		b.WriteString("no server run of it is running")
	} else {
		b.WriteString("these server runs go on on the server:")
		for _, sr := range going {
			fmt.Fprintf(&b, "\n  wave %d: run %s (%s)", sr.Wave, sr.ID, safe.Text(waves.Names(sr.Steps)))
		}
		fmt.Fprintf(&b, "\nfollow them with: pi runs get %s --wait", id)
	}
	if len(unknown) > 0 {
		fmt.Fprintf(&b, "\nwave %s was sent but got no answer: the server may have created its run; check before running its steps again", strings.Join(unknown, ", "))
	}
	if len(unsent) > 0 {
		fmt.Fprintf(&b, "\nwaves %s were not sent: once those ended, 'pi runs rerun %s' sends the steps that did not run", strings.Join(unsent, ", "), id)
	}
	return b.String()
}

// dryWave is one server run of a --dry-run's waves: its body as the file gives it (an
// input_map entry into an earlier wave is sent as a literal input once that wave
// completed; its depends_on entry is dropped).
type dryWave struct {
	Wave    int             `json:"wave"`
	After   []int           `json:"after"`
	Batches int             `json:"batches"`
	Body    json.RawMessage `json:"body"`
}

// writeWaves writes a dry run's waves to w: {"waves": [...]}, indented for a person
// (each body compact when piped, as the dry run of one run writes it).
func writeWaves(w io.Writer, p *pipeline.Pipeline, plan *waves.Plan, indent bool) error {
	doc := struct {
		Waves []dryWave `json:"waves"`
	}{}
	for k, wv := range plan.Waves {
		sub := &pipeline.Pipeline{Name: p.Name, Metadata: p.Metadata}
		for _, i := range wv.Steps {
			sub.Steps = append(sub.Steps, p.Steps[i])
		}
		body, err := sub.RunsBody()
		if err != nil {
			return err
		}
		after := []int{}
		for _, a := range wv.After {
			after = append(after, a+1)
		}
		doc.Waves = append(doc.Waves, dryWave{Wave: k + 1, After: after, Batches: wv.Depth, Body: body})
	}
	out, err := json.Marshal(doc)
	if indent && err == nil {
		out, err = json.MarshalIndent(doc, "", "  ")
	}
	if err != nil {
		return fmt.Errorf("encode waves: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s\n", out); err != nil {
		return fmt.Errorf("write dry run: %w", err)
	}
	return nil
}

// wavesSummary is the dry run's lines of the waves: each with its steps, its batches and
// the waves it waits for.
func wavesSummary(p *pipeline.Pipeline, plan *waves.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  waves      %d server runs of at most %d steps; %d %s on the longest path (a wave is sent when the waves it needs completed)\n",
		len(plan.Waves), pipeline.MaxRemoteSteps, plan.Span, pluralWord(plan.Span, "batch", "batches"))
	for k, wv := range plan.Waves {
		ids := make([]string, len(wv.Steps))
		for j, i := range wv.Steps {
			ids[j] = p.Steps[i].ID
		}
		after := "at once"
		if len(wv.After) > 0 {
			nums := make([]string, len(wv.After))
			for j, a := range wv.After {
				nums[j] = fmt.Sprint(a + 1)
			}
			after = "after " + strings.Join(nums, ", ")
		}
		fmt.Fprintf(&b, "    wave %-2d  %-8s  %-9s  %-10s  %s\n", k+1, plural(len(wv.Steps), "step"), fmt.Sprintf("%d %s", wv.Depth, pluralWord(wv.Depth, "batch", "batches")), after, safe.Text(waves.Names(ids)))
	}
	return b.String()
}

// refreshWaves reads again from their server the server runs of a logical run (waves)
// that had not ended when recorded, into rec (its steps, its server runs), unless the pi
// process sending it is alive (it keeps the record; a pi stopped by Ctrl-C or --timeout
// lets go of it). Once every server run sent ended, a
// run whose pi stopped before sending the others ends: cancelled (failed when a server
// run failed). The record is saved, and what it paid for goes into the step cache.
func (rr *recordedRuns) refreshWaves(st *store.Store, rec *store.Record) {
	rr.note = ""
	c, server, why := rr.serverOf(rec)
	if c == nil {
		rr.note = fmt.Sprintf("run %s: %s; showing its last recorded state", rec.Run.ID, why)
		return
	}
	rr.client = c
	if rr.sess != nil {
		rr.sess.rehostImages(rec.Run)
	}
	if rec.Run.Status.Terminal() || rec.Owner.Liveness() == store.OwnerAlive {
		return // ended, or its pi is still sending it and keeps its record
	}
	index := map[string]int{}
	for i := range rec.Run.Steps {
		index[rec.Run.Steps[i].ID] = i
	}
	status := run.Cancelled
	for k := range rec.ServerRuns {
		sr := &rec.ServerRuns[k]
		if sr.ID != "" && !sr.Status.Terminal() {
			r, err := c.GetRun(rr.ctx, sr.ID, false, 0)
			if err != nil {
				rr.note = fmt.Sprintf("server run %s of run %s could not be read again (%v); showing its last recorded state", sr.ID, rec.Run.ID, err)
				return
			}
			sr.Status = r.Status
			for _, s := range r.Steps {
				if i, ok := index[s.ID]; ok {
					s.DependsOn = rec.Run.Steps[i].DependsOn
					rec.Run.Steps[i] = s
				}
			}
		}
		switch {
		case sr.ID != "" && !sr.Status.Terminal():
			status = run.InProgress
		case sr.Status == run.Failed && status != run.InProgress:
			status = run.Failed
		}
	}
	rec.Run.Status = status
	err := st.SaveRun(rr.ctx, rec.Run)
	if err == nil {
		err = st.SaveServerRuns(rr.ctx, rec.Run.ID, rec.ServerRuns)
	}
	if err == nil && status.Terminal() {
		err = st.Finish(rr.ctx, rec.Run.ID, status)
	}
	if err != nil {
		fmt.Fprintf(rr.f.IO.ErrOut, "warning: %v\n", err)
	}
	rr.harvest(rec, server)
}

// serverRunsLine says where the steps of a logical run ran: each wave's server run.
func serverRunsLine(rec *store.Record) string {
	var parts []string
	for _, sr := range rec.ServerRuns {
		switch {
		case sr.ID == "":
			parts = append(parts, fmt.Sprintf("wave %d not sent", sr.Wave))
		default:
			parts = append(parts, fmt.Sprintf("wave %d %s %s (%s)", sr.Wave, sr.ID, sr.Status, plural(len(sr.Steps), "step")))
		}
	}
	return fmt.Sprintf("run %s ran as %d server runs: %s", rec.Run.ID, len(rec.ServerRuns), strings.Join(parts, "; "))
}

// followLogical shows a logical run (waves) as recorded, refreshed from its server runs;
// with --wait it is re-read until it ends.
func followLogical(ctx context.Context, o *runsGetOptions, rec *store.Record, deadline time.Time) (runResult, error) {
	prog := render.NewProgress(o.IO, render.Options{Format: o.Format, Quiet: !o.Wait, JobSummary: o.Wait})
	res := runResult{run: rec.Run, where: placeRemote}
	// --wait re-reads the record (and through it, once no pi sends the run, its server
	// runs) until it ends.
	if o.Wait && !rec.Run.Status.Terminal() && !store.Interrupted(rec.Run.Status, rec.Owner) {
		var err error
		if rec, res.how, err = waitLocal(ctx, prog, o, rec, deadline); err != nil || res.how != outcomeEnded {
			prog.Stop()
			res.run, res.where = rec.Run, placeWatched
			return res, err
		}
		res.run = rec.Run
	}
	fmt.Fprintln(o.IO.ErrOut, safe.Text(serverRunsLine(rec)))
	if err := prog.Finish(rec.Run); err != nil {
		return runResult{}, fmt.Errorf("write result: %w", err)
	}
	return res, nil
}
