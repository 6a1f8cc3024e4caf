package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/batch"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/safe"
	"github.com/pi-cli/pi/internal/store"
)

// resumeBatch continues batch id: its rows not completed (with --failed, only those that
// failed), run as the batch first ran them, by this process once it owns the batch.
func resumeBatch(ctx context.Context, o *runOptions, recs batchRecords, id string) error {
	if len(o.Params) > 0 {
		return UsageErrorf("-p with --resume: batch %s keeps the params it started with", id)
	}
	b, rows, err := recs.GetBatch(ctx, id)
	if err != nil {
		return err
	}
	if o.Sandbox && !strings.HasSuffix(b.Mode, "sandbox") {
		// the rows run where the batch started them; --sandbox would be silently ignored
		return UsageErrorf("--sandbox: batch %s runs its rows %s, as it started: drop --sandbox", id, b.Mode)
	}
	err = recs.ClaimBatch(ctx, b, store.Self())
	var owned *store.OwnedError
	switch {
	case errors.As(err, &owned) && owned.Elsewhere:
		return UsageErrorf("batch %s is running on host %s: resume it there if its pi was stopped", id, owned.Owner.Host)
	case errors.As(err, &owned):
		return UsageErrorf("batch %s is still running (pi process %d): wait for it, or stop that process first", id, owned.Owner.PID)
	case errors.Is(err, store.ErrClaimed):
		return UsageErrorf("batch %s was resumed by another pi process just now", id)
	case err != nil:
		return err
	}
	o.Local, o.Sandbox = strings.HasPrefix(b.Mode, "local"), strings.HasSuffix(b.Mode, "sandbox")
	o.File, o.Params = b.File, b.Params
	which := batch.ToResume(rows, o.Failed)
	if !o.Quiet {
		what := "not completed"
		if o.Failed {
			what = "failed"
		}
		fmt.Fprintf(o.IO.ErrOut, "batch %s resumed: %d of its %d rows %s run again, %d at a time\n", b.ID, len(which), len(rows), what, o.MaxParallel)
	}
	return executeBatch(ctx, o, recs, b, rows, which)
}

// executeBatch runs the rows which of batch b, records each in its ledger, and shows the
// summary of all its rows; the exit code is the worst row's (batch.Worst).
func executeBatch(ctx context.Context, o *runOptions, recs batchRecords, b *store.Batch, rows []store.BatchRow, which []int) error {
	sb := &sharedSandbox{start: o.StartSandbox}
	defer sb.close()
	var ended int
	lerr := batch.Run(ctx, recs, b.ID, rows, which, batch.Options{
		MaxParallel: o.MaxParallel,
		Row: func(ctx context.Context, row store.BatchRow) batch.Outcome {
			return runRow(ctx, o, recs, sb, b, row)
		},
		Ended: func(row store.BatchRow) {
			ended++
			rowEnded(o, b, &row, ended, len(which))
		},
	})
	if err := recs.ReleaseBatch(context.WithoutCancel(ctx), b); err != nil && lerr == nil {
		lerr = err
	}
	if lerr != nil {
		fmt.Fprintf(o.IO.ErrOut, "warning: the ledger of batch %s is incomplete (%v): a resume may run again a row that ended\n", b.ID, lerr)
	}
	sum := batch.Summarize(b, rows)
	var werr error
	switch o.Output {
	case render.FormatJSON, render.FormatJSONL:
		werr = sum.WriteJSON(o.IO.Out, o.Output == render.FormatJSON)
	default:
		werr = sum.WriteTable(o.IO.Out)
	}
	if werr != nil {
		return fmt.Errorf("write the summary: %w", werr)
	}
	if err := render.AppendSummaryTable(o.IO, sum.JobSummary()); err != nil {
		fmt.Fprintf(o.IO.ErrOut, "warning: could not write the GitHub job summary: %v\n", err)
	}
	batchEndNote(ctx, o, sum)
	if sum.ExitCode == ExitOK {
		return nil
	}
	return SilentExit(sum.ExitCode)
}

// batchEndNote says how to go on with a batch that did not complete.
func batchEndNote(ctx context.Context, o *runOptions, sum batch.Summary) {
	left := len(sum.Rows) - sum.Counts[batch.Completed]
	switch {
	case left == 0:
	case ctx.Err() != nil:
		fmt.Fprintf(o.IO.ErrOut, "interrupted: batch %s has %s not completed; continue it with 'pi run --resume %s'\n", sum.ID, plural(left, "row"), sum.ID)
	default:
		fmt.Fprintf(o.IO.ErrOut, "batch %s: %s not completed; run the failed ones again with 'pi run --resume %s --failed' (every row not completed: without --failed)\n", sum.ID, plural(left, "row"), sum.ID)
	}
}

// rowEnded shows a row that ended: a line on stderr, or with -o jsonl the row on stdout.
func rowEnded(o *runOptions, b *store.Batch, row *store.BatchRow, n, total int) {
	rs := batch.RowOf(b, row)
	if o.Output == render.FormatJSONL {
		if err := rs.WriteJSON(o.IO.Out); err != nil {
			fmt.Fprintf(o.IO.ErrOut, "warning: %v\n", err)
		}
		return
	}
	if o.Quiet {
		return
	}
	what := "run " + safe.Text(row.RunID)
	if row.RunID == "" {
		what = "no run"
	}
	if row.Error != "" {
		what += ": " + safe.Text(row.Error)
	}
	fmt.Fprintf(o.IO.ErrOut, "[%d/%d] row %d %s in %s (%s): %s\n", n, total, rs.Row, row.Status,
		render.Duration(time.Duration(rs.DurationMS)*time.Millisecond, true), batch.KeyParams(b.Columns, row.Params), what)
}

// runRow runs one row of batch b: the batch's pipeline with -p and the row's params, as
// pi run would (local or remote), quietly, recorded with the batch's id. A row that ran
// before (a resume) goes on from its run when it can (priorRun).
func runRow(ctx context.Context, o *runOptions, recs batchRecords, sb *sharedSandbox, b *store.Batch, row store.BatchRow) batch.Outcome {
	ro := *o
	ro.IO = o.IO.Part(fmt.Sprintf("row %d: ", row.Index+1))
	ro.Quiet, ro.Output = true, render.FormatPlain
	ro.Resume, ro.Each, ro.File, ro.Params = "", "", b.File, rowParams(b.Params, row.Params)
	ro.row = &batchRow{id: b.ID, data: b.Pipeline}
	// The ledger learns the row's run as soon as it is recorded: a resume after a kill
	// goes on from it.
	rr := rowRecords{batchRecords: recs, created: func(id string) {
		r := row
		r.RunID = id
		if err := recs.SaveBatchRow(context.WithoutCancel(ctx), b.ID, r); err != nil {
			fmt.Fprintf(ro.IO.ErrOut, "warning: its run %s is not in the ledger of batch %s: %v\n", id, b.ID, err)
		}
	}}
	ro.Records = func(context.Context) (localRecords, error) { return rr, nil }
	ro.StartSandbox = sb.get
	clients := &piClients{o: &ro} // its sandbox is the batch's: sb closes it
	var (
		res runResult
		err error
	)
	prior, follow := priorRun(ctx, &ro, recs, row)
	switch {
	case prior != nil:
		return *prior
	case follow != "":
		res, err = ro.FollowRecorded(ctx, ro.IO, follow, ro.Timeout)
	case ro.Local:
		res, err = runLocal(ctx, &ro, clients)
	default:
		res, err = runRemote(ctx, &ro, clients)
	}
	out := rowOutcome(res, err)
	if ro.Redactor != nil {
		out.Err = ro.Redactor().String(out.Err)
	}
	return out
}

// rowOutcome is how a row's run ended, from pi run's result.
func rowOutcome(res runResult, err error) batch.Outcome {
	if err != nil {
		msg := "see the messages above"
		if !isSilent(err) {
			// what the ledger keeps and the summary shows: as pi's last word on an error
			msg = safe.SecretsText(err.Error())
		}
		return batch.Outcome{Code: exitCode(err), Err: msg}
	}
	code, _ := res.exit()
	out := batch.Outcome{Code: code}
	if res.run != nil {
		out.RunID = res.run.ID
		if res.how == outcomeEnded && !res.run.Status.Terminal() {
			// a recorded run whose server could not be asked (the note says why)
			out.Code, out.Err = ExitAPI, fmt.Sprintf("run %s could not be followed to its end", res.run.ID)
		}
	}
	if res.recordErr != nil {
		out.Err = "its record is incomplete: " + res.recordErr.Error()
	}
	return out
}

// priorRun is what a resumed row does with the run it had: a run recorded completed is
// the row's outcome (pi stopped before the ledger said so); a local run that may be
// resumed is resumed (ro.Resume: its completed steps are kept); a run on the Pi API that
// pi stopped following is followed (follow), never created again. Anything else (no run,
// a run that ended otherwise, a sandbox run: free) runs anew.
func priorRun(ctx context.Context, ro *runOptions, recs batchRecords, row store.BatchRow) (prior *batch.Outcome, follow string) {
	if row.RunID == "" {
		return nil, ""
	}
	rec, err := recs.Get(ctx, row.RunID)
	if err != nil {
		return nil, ""
	}
	switch {
	case rec.Run.Status == run.Completed:
		return &batch.Outcome{Code: ExitOK, RunID: rec.Run.ID}, ""
	case ro.Local && (rec.Place == "" || rec.Place == store.PlaceLocal):
		if _, err := store.Resumable(rec); err == nil {
			ro.Resume = rec.Run.ID
		}
	case !ro.Local && rec.Place == store.PlaceRemote && !rec.Run.Status.Terminal() && ro.FollowRecorded != nil:
		return nil, rec.Run.ID
	}
	return nil, ""
}

// rowRecords is the batch's runs database as a row's run sees it: it does not close it,
// and the run's record, once created, is told to created.
type rowRecords struct {
	batchRecords
	created func(runID string)
}

func (rowRecords) Close() error { return nil }

func (r rowRecords) Create(ctx context.Context, rec store.Record) error {
	err := r.batchRecords.Create(ctx, rec)
	if err == nil && rec.BatchID != "" {
		r.created(rec.Run.ID)
	}
	return err
}

// sharedSandbox is the one in-process sandbox of a batch's rows (--sandbox), started
// when a row first needs it.
type sharedSandbox struct {
	start func(ctx context.Context, spec sandboxSpec) (*piapi.Client, *sandboxSession, error)

	mu   sync.Mutex
	c    *piapi.Client
	sess *sandboxSession
	err  error
}

// get is a row's StartSandbox: the batch's sandbox, on this machine's database (its rate
// limit is the rows' one).
func (s *sharedSandbox) get(ctx context.Context, spec sandboxSpec) (*piapi.Client, *sandboxSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil && s.err == nil {
		s.c, s.sess, s.err = s.start(ctx, sandboxSpec{RateLimit: spec.RateLimit})
	}
	return s.c, s.sess, s.err
}

func (s *sharedSandbox) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess != nil {
		s.sess.Close()
		s.sess = nil
	}
}
