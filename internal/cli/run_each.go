package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pi-cli/pi/internal/batch"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/safe"
	"github.com/pi-cli/pi/internal/spell"
	"github.com/pi-cli/pi/internal/store"
)

// eachOptions is pi run --each ROWS: one run of the pipeline per row (internal/batch).
type eachOptions struct {
	Each        string      // --each ROWS: the CSV or JSONL file of params ("-": stdin)
	Shard       batch.Shard // --shard I/N: only this runner's part of the rows
	MaxParallel int         // --max-parallel: rows running at once; 0 for batch.DefaultMaxParallel
	Failed      bool        // --failed (with --resume of a batch): only the rows that failed

	shardText string // --shard as given
}

func eachFlags(fl *pflag.FlagSet, e *eachOptions) {
	fl.StringVar(&e.Each, "each", "", "run the pipeline once per row of this CSV (header: param names) or JSONL file, the row as params")
	fl.StringVar(&e.shardText, "shard", "", "with --each: run only part I of N of the rows (by a hash of each row), e.g. --shard 2/4")
	fl.IntVar(&e.MaxParallel, "max-parallel", 0, fmt.Sprintf("with --each: rows running at once (default %d)", batch.DefaultMaxParallel))
	fl.BoolVar(&e.Failed, "failed", false, "with --resume of a batch: run again only its failed rows")
}

// fillEach refuses the batch flags where they do not apply.
func (o *runOptions) fillEach(cmd *cobra.Command) error {
	changed := cmd.Flags().Changed
	switch {
	case o.Each == "" && o.Resume == "" && (changed("shard") || changed("max-parallel")):
		return UsageErrorf("--shard and --max-parallel split the rows of --each ROWS: add --each")
	case o.Failed && o.Resume == "":
		return UsageErrorf("--failed reruns the failed rows of a batch: use it with --resume BATCH_ID")
	case o.Resume != "" && o.Each != "":
		return UsageErrorf("--resume continues a batch with the rows it started with: drop --each")
	case o.Resume != "" && changed("shard"):
		return UsageErrorf("--shard: a batch keeps the rows it started with; drop --shard with --resume")
	case changed("max-parallel") && o.MaxParallel < 1:
		return UsageErrorf("--max-parallel %d: want 1 or more rows at once", o.MaxParallel)
	case o.Each == "":
		return nil
	case o.Each == "-" && o.File == "-":
		return UsageErrorf("--each - and FILE - both read standard input: give one of them as a file")
	case o.DryRun:
		return UsageErrorf("--dry-run with --each: try one row's pipeline with -p NAME=VALUE --dry-run")
	case o.Detach:
		return UsageErrorf("--detach with --each: a batch follows its rows to keep its ledger; drop --detach")
	case o.Download != "" || o.Web:
		return UsageErrorf("--download and --web take one run: with --each, use 'pi runs download ID' of a row's run")
	}
	if changed("shard") {
		sh, err := batch.ParseShard(o.shardText)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
		o.Shard = sh
	}
	return nil
}

// batchRow is what a batch's row adds to the options of its run.
type batchRow struct {
	id   string // the batch
	data []byte // the pipeline's text, read once for every row
}

// text is the pipeline's text of a row's run, nil for any other run (which reads FILE).
func (r *batchRow) text() []byte {
	if r == nil {
		return nil
	}
	return r.data
}

// batch is the batch of a row's run, "" for any other run.
func (r *batchRow) batch() string {
	if r == nil {
		return ""
	}
	return r.id
}

// batchRecords is the runs database with the ledgers of batches (*store.Store).
type batchRecords interface {
	localRecords
	CreateBatch(ctx context.Context, b *store.Batch, rows []store.BatchRow) error
	GetBatch(ctx context.Context, id string) (*store.Batch, []store.BatchRow, error)
	ResolveBatch(ctx context.Context, id string) (string, error)
	ClaimBatch(ctx context.Context, b *store.Batch, owner store.Owner) error
	ReleaseBatch(ctx context.Context, b *store.Batch) error
	SaveBatchRow(ctx context.Context, id string, r store.BatchRow) error
}

// openBatchRecords opens the runs database for a batch.
func (o *runOptions) openBatchRecords(ctx context.Context) (batchRecords, error) {
	recs, err := o.Records(ctx)
	if err != nil {
		return nil, err
	}
	br, ok := recs.(batchRecords)
	if !ok {
		recs.Close()
		return nil, fmt.Errorf("the runs database %s keeps no batches", recs.Path())
	}
	return br, nil
}

// runEach runs a batch: --each ROWS, or --resume of a batch's id. batch is false for any
// other run (a --resume id that names no batch is a run's).
func runEach(ctx context.Context, o *runOptions) (isBatch bool, err error) {
	if o.Each == "" && o.Resume == "" {
		return false, nil
	}
	if o.MaxParallel == 0 {
		o.MaxParallel = batch.DefaultMaxParallel
	}
	recs, err := o.openBatchRecords(ctx)
	if err != nil {
		return true, err
	}
	defer recs.Close()
	if o.Each != "" {
		return true, newBatch(ctx, o, recs)
	}
	id, err := recs.ResolveBatch(ctx, o.Resume)
	var amb *store.AmbiguousError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case errors.As(err, &amb):
		return true, &ExitError{Code: ExitUsage, Err: err}
	case err != nil:
		return true, err
	}
	return true, resumeBatch(ctx, o, recs, id)
}

// batchMode is how a batch's rows run, as its ledger says.
func batchMode(o *runOptions) string {
	switch {
	case o.Local && o.Sandbox:
		return "local-sandbox"
	case o.Local:
		return "local"
	case o.Sandbox:
		return "sandbox"
	}
	return "remote"
}

// newBatch reads the pipeline and the rows, refuses (exit 2, nothing run) a row the
// pipeline cannot take, records the batch's ledger and runs its rows.
func newBatch(ctx context.Context, o *runOptions, recs batchRecords) error {
	name, data, err := readPipelineFile(o.IO, o.File)
	if err != nil {
		return UsageErrorf("%s: %s", safe.Text(name), readProblem(err))
	}
	rs, err := readRows(o.IO, o.Each)
	if err != nil {
		return err
	}
	mode := pipeline.Remote
	if o.Local {
		mode = pipeline.Local
	}
	if err := checkRows(o.IO, name, data, mode, o.Params, rs); err != nil {
		return err
	}
	selected := o.Shard.Select(rs.Rows)
	b := &store.Batch{ID: uuid.NewString(), File: name, Pipeline: data, RowsFile: rs.Name, Columns: rs.Columns,
		Params: o.Params, Mode: batchMode(o), Shard: o.Shard.String(), Owner: store.Self()}
	rows := make([]store.BatchRow, len(selected))
	which := make([]int, len(selected))
	for i, r := range selected {
		rows[i] = store.BatchRow{Index: r.Index, Line: r.Line, Params: r.Params, Status: string(batch.Pending)}
		which[i] = i
	}
	if err := recs.CreateBatch(ctx, b, rows); err != nil {
		return err
	}
	if !o.Quiet {
		part := ""
		if o.Shard.N > 1 {
			part = fmt.Sprintf(" (shard %s: %d of %d rows)", o.Shard, len(selected), len(rs.Rows))
		}
		fmt.Fprintf(o.IO.ErrOut, "batch %s started: %s once per row of %s%s, %d at a time\n",
			b.ID, safe.Text(name), safe.Text(rs.Name), part, o.MaxParallel)
	}
	return executeBatch(ctx, o, recs, b, rows, which)
}

// maxRowsFile is the largest rows file read.
const maxRowsFile = 64 << 20

// readRows reads and parses the rows file ("-": standard input).
func readRows(ios *render.IOStreams, path string) (*batch.Rows, error) {
	var r io.Reader = ios.In
	name := "<stdin>"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, UsageErrorf("--each %s: %v", safe.Text(path), err)
		}
		defer f.Close()
		r, name = f, path
	}
	data, err := io.ReadAll(io.LimitReader(r, maxRowsFile+1))
	if err != nil {
		return nil, UsageErrorf("--each %s: %v", safe.Text(name), err)
	}
	if len(data) > maxRowsFile {
		return nil, UsageErrorf("--each %s: larger than %d MiB: split it", safe.Text(name), maxRowsFile>>20)
	}
	rs, err := batch.Parse(name, data)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	return rs, nil
}

// checkRows refuses, before anything runs, a column the pipeline has no param for, a
// column also given with -p, and a row whose params make the pipeline invalid (its
// diagnostics shown, the first such row only).
func checkRows(ios *render.IOStreams, name string, data []byte, mode pipeline.Mode, params map[string]string, rs *batch.Rows) error {
	p, src, ds, err := pipeline.Load(name, pipeline.Options{Mode: mode, Params: params, Data: data})
	if err != nil {
		return UsageErrorf("%s: %s", safe.Text(src.Name), readProblem(err))
	}
	if p == nil {
		printDiagnosticsWithSource(ios, ds, src.Data)
		return SilentExit(ExitUsage)
	}
	if note := localOnlyNote(p); note != "" && mode == pipeline.Remote {
		fmt.Fprintln(ios.ErrOut, note)
	}
	defined := slices.Sorted(maps.Keys(p.Params))
	for _, c := range rs.Columns {
		if _, ok := params[c]; ok {
			return UsageErrorf("%s: column %q is also given with -p: drop one (a row's value would replace it)", safe.Text(rs.Name), safe.Text(c))
		}
		if _, ok := p.Params[c]; ok {
			continue
		}
		hint := "it defines no params"
		if len(defined) > 0 {
			hint = "its params: " + strings.Join(defined, ", ")
		}
		if s := spell.Nearest(c, defined); s != "" {
			hint = fmt.Sprintf("did you mean %q? (%s)", s, hint)
		}
		return UsageErrorf("%s: column %q is no param of %s: %s", safe.Text(rs.Name), safe.Text(c), safe.Text(name), hint)
	}
	for _, r := range rs.Rows {
		p, _, ds, _ := pipeline.Load(name, pipeline.Options{Mode: mode, Params: rowParams(params, r.Params), Data: data})
		if p == nil {
			fmt.Fprintf(ios.ErrOut, "%s:%d: row %d: with its params, %s is invalid:\n", safe.Text(rs.Name), r.Line, r.Index+1, safe.Text(name))
			printDiagnosticsWithSource(ios, ds, data)
			return SilentExit(ExitUsage)
		}
	}
	return nil
}

// rowParams is a row's params: -p, and the row's columns.
func rowParams(params, row map[string]string) map[string]string {
	out := make(map[string]string, len(params)+len(row))
	maps.Copy(out, params)
	maps.Copy(out, row)
	return out
}
