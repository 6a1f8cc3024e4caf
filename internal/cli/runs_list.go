package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/safe"
	"github.com/pi-cli/pi/internal/store"
)

// runsListOptions are the options of `pi runs list`.
type runsListOptions struct {
	IO *render.IOStreams
	// Records opens this machine's runs database.
	Records func(ctx context.Context) (*store.Store, error)

	Output string // table, json or jsonl
	Limit  int
	Filter store.Filter
	batch  string // --batch: an id or prefix, resolved into Filter.Batch
}

// newRunsListCmd lists the runs this machine recorded, newest first.
func newRunsListCmd(f *Factory, runF func(*runsListOptions) error) *cobra.Command {
	o := &runsListOptions{IO: f.IO, Records: func(ctx context.Context) (*store.Store, error) { return openStore(ctx, f) }}
	var remote, local, sandbox bool
	var status, batch string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every run this machine started or submitted",
		Long: `List every run this machine started or submitted, newest first: runs on the Pi API
(pi run, --detach), --sandbox runs and --local runs, with where each ran (WHERE: the API's
host, sandbox, local, or local/sandbox for pi run --local --sandbox), its file, its last known status, start time and duration. The list
reads nothing from the network: 'pi runs get ID' reads a remote run again. A local run
recorded in progress whose pi process is gone (killed, crashed) shows as "interrupted"
("interrupted": true with -o json); pi run --resume ID continues it.

Any command that takes a run id also takes its first 4 or more characters, when only one
recorded run starts with them; on a terminal too narrow for whole ids the table shows
their first 8 (piped, every id is whole). --batch ID lists the runs of a batch's rows (pi run --each
prints the batch's id; the BATCH of each run is in -o json as batch_id).`,
		Example: `  pi runs list
  pi runs list --remote --status failed
  pi runs list --batch 0b5e1a2c
  pi runs list --sandbox -o json --jq '.[0].id'`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Output != "table" && o.Output != "json" && o.Output != "jsonl" {
				return UsageErrorf("-o %s: want table, json or jsonl", o.Output)
			}
			places := map[string]bool{store.PlaceRemote: remote, store.PlaceLocal: local, store.PlaceSandbox: sandbox}
			for place, on := range places {
				if !on {
					continue
				}
				if o.Filter.Place != "" {
					return UsageErrorf("--remote, --local and --sandbox each select one place: give one")
				}
				o.Filter.Place = place
			}
			if status != "" {
				st := run.Status(status)
				switch st {
				case run.Pending, run.InProgress, run.Completed, run.Failed, run.Cancelled:
				default:
					return UsageErrorf("--status %s: want pending, in_progress, completed, failed or cancelled", status)
				}
				o.Filter.Status = st
			}
			o.Filter.Limit = o.Limit
			o.batch = batch
			if runF != nil {
				return runF(o)
			}
			return runsList(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Output, "output", "o", "table", "output format: table, json (an array) or jsonl (one run per line)")
	fl.IntVar(&o.Limit, "limit", 0, "show at most this many runs (0: all)")
	fl.BoolVar(&remote, "remote", false, "only runs on the Pi API")
	fl.BoolVar(&local, "local", false, "only --local runs (--sandbox ones too)")
	fl.BoolVar(&sandbox, "sandbox", false, "only --sandbox runs (--local ones too)")
	fl.StringVar(&status, "status", "", "only runs last known in this status (completed, failed, ...)")
	fl.StringVar(&batch, "batch", "", "only the runs of this batch's rows (pi run --each), by its id or a prefix of 4+ characters")
	return cmd
}

// listRow is one run of `pi runs list -o json`.
type listRow struct {
	ID        string  `json:"id"`
	Where     string  `json:"where"`
	Server    string  `json:"server,omitempty"`
	File      string  `json:"file"`
	Status    string  `json:"status"`
	StartedAt string  `json:"started_at"`
	DurationS float64 `json:"duration_s"`
	// Interrupted: recorded in progress, but its pi process is gone.
	Interrupted bool   `json:"interrupted,omitempty"`
	RerunOf     string `json:"rerun_of,omitempty"`
	BatchID     string `json:"batch_id,omitempty"`
}

func runsList(ctx context.Context, o *runsListOptions) error {
	st, err := o.Records(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.batch != "" {
		if o.Filter.Batch, err = st.ResolveBatch(ctx, o.batch); errors.Is(err, store.ErrNotFound) {
			return UsageErrorf("--batch %s: no batch recorded in %s has that id (pi run --each prints its batch's id)", safe.Text(o.batch), st.Path())
		} else if err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	runs, err := st.ListWhere(ctx, o.Filter)
	if err != nil {
		return err
	}
	spans, err := st.StepSpans(ctx)
	if err != nil {
		return err
	}
	if o.Output == "json" || o.Output == "jsonl" {
		return writeListJSON(o, runs, spans)
	}
	if len(runs) == 0 {
		fmt.Fprintf(o.IO.ErrOut, "no runs recorded in %s%s; start one with 'pi run FILE'\n", st.Path(), filterText(o.Filter))
		return nil
	}
	rows := make([][]string, 0, len(runs)+1)
	rows = append(rows, []string{"ID", "WHERE", "FILE", "STATUS", "STARTED", "DURATION"})
	for _, r := range runs {
		status := string(r.Status)
		if interruptedRun(r) {
			status = "interrupted" // pi run --resume continues it
		}
		if r.RerunOf != "" {
			status += " (rerun of " + shortID(r.RerunOf) + ")"
		}
		rows = append(rows, []string{r.ID, safe.Text(placeOf(r.Where)), safe.Text(r.File), status,
			r.CreatedAt.Local().Format("2006-01-02 15:04:05"), listRun(r, spans).text()})
	}
	fitList(rows, o.IO.StdoutWidth())
	tw := tabwriter.NewWriter(o.IO.Out, 0, 4, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// fitList fits the table of runs (a header, then a row per run) to a terminal width columns
// wide (0: no limit, a pipe gets every id in full): run ids shortened to their first 8
// characters (a prefix every command takes), then FILE cut in its middle when 12 or more
// of it are left (on a narrower terminal the rows wrap whole).
func fitList(rows [][]string, width int) {
	const gap, fileCol = 2, 2
	wide := func() int {
		n := 0
		for c := range rows[0] {
			w := 0
			for _, row := range rows {
				w = max(w, utf8.RuneCountInString(row[c]))
			}
			n += w + gap
		}
		return n - gap
	}
	if width <= 0 || wide() <= width {
		return
	}
	for _, row := range rows[1:] {
		row[0] = shortID(row[0])
	}
	over := wide() - width
	if over <= 0 {
		return
	}
	fileW := 0
	for _, row := range rows {
		fileW = max(fileW, utf8.RuneCountInString(row[fileCol]))
	}
	if fileW-over < 12 {
		return
	}
	for _, row := range rows[1:] {
		row[fileCol] = render.CutMiddle(row[fileCol], fileW-over)
	}
}

// writeListJSON writes the runs as one indented array (-o json) or one run per line
// (-o jsonl), with started_at in RFC 3339 at the store's precision (milliseconds).
func writeListJSON(o *runsListOptions, runs []store.RunSummary, spans map[string]store.Span) error {
	rows := make([]listRow, 0, len(runs))
	for _, r := range runs {
		rows = append(rows, listRow{ID: r.ID, Where: placeOf(r.Where), Server: r.Server, File: r.File, Status: string(r.Status),
			StartedAt: r.CreatedAt.UTC().Format(time.RFC3339Nano), DurationS: listRun(r, spans).duration().Seconds(),
			Interrupted: interruptedRun(r), RerunOf: r.RerunOf, BatchID: r.BatchID})
	}
	if o.Output == "jsonl" {
		for _, row := range rows {
			b, err := json.Marshal(row)
			if err != nil {
				return err
			}
			fmt.Fprintf(o.IO.Out, "%s\n", safe.JSON(b))
		}
		return nil
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.Out, "%s\n", safe.JSON(b))
	return nil
}

// placeOf is the WHERE of a run: "local", "sandbox", "local/sandbox" (pi's engine, the
// sandbox's jobs), or the host of the API it went to.
func placeOf(w store.Where) string {
	switch w.Place {
	case store.PlaceRemote:
		if u, err := url.Parse(w.Server); err == nil && u.Host != "" {
			return u.Host
		}
		return "remote"
	case store.PlaceSandbox:
		return "sandbox"
	}
	if w.Server != "" {
		return "local/sandbox"
	}
	return "local"
}

// filterText says what a filter left out, for an empty list.
func filterText(fl store.Filter) string {
	var parts []string
	if fl.Place != "" {
		parts = append(parts, fl.Place)
	}
	if fl.Status != "" {
		parts = append(parts, string(fl.Status))
	}
	batch := ""
	if fl.Batch != "" {
		batch = " of batch " + fl.Batch
	}
	if len(parts) == 0 {
		return batch
	}
	return " that are " + strings.Join(parts, " and ") + batch
}

// shortID is the first 8 characters of a run id, as pi names run directories.
func shortID(id string) string { return id[:min(8, len(id))] }

// interruptedRun reports a local run recorded in progress whose pi process is gone.
func interruptedRun(r store.RunSummary) bool {
	return (r.Place == "" || r.Place == store.PlaceLocal) && store.Interrupted(r.Status, r.Owner)
}

// listRun is a run of the list as render measures runs: its times and the span of its
// steps, so the DURATION is the one pi run's summary and pi runs get show.
type listedRun struct{ r *run.Run }

func listRun(sm store.RunSummary, spans map[string]store.Span) listedRun {
	status := sm.Status
	if interruptedRun(sm) {
		status = render.RunInterrupted // ended when its pi process died, not still running
	}
	r := &run.Run{ID: sm.ID, Status: status, CreatedAt: sm.CreatedAt, UpdatedAt: sm.UpdatedAt, Idle: sm.Idle}
	if sp, ok := spans[sm.ID]; ok {
		if status == render.RunInterrupted {
			// its steps left running end at its last record, as pi runs get shows them
			sp.Last = maxTime(sp.Last, sm.UpdatedAt)
		}
		r.Steps = []run.Step{{Status: run.StepCompleted, StartedAt: sp.First, CompletedAt: sp.Last}}
	}
	return listedRun{r}
}

func (l listedRun) duration() time.Duration {
	d, _ := render.RunDuration(l.r, time.Now())
	return d
}

func (l listedRun) text() string { return render.RunDurationText(l.r, time.Now()) }

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
