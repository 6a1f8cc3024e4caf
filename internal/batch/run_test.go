package batch

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pi-cli/pi/internal/store"
)

// newLedger records a batch of n rows in a fresh runs database.
func newLedger(t *testing.T, n int) (*store.Store, *store.Batch, []store.BatchRow) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := &store.Batch{ID: "b1", File: "p.yaml", RowsFile: "rows.csv", Columns: []string{"n"}, Mode: "local", Owner: store.Self()}
	rows := make([]store.BatchRow, n)
	for i := range rows {
		rows[i] = store.BatchRow{Index: i, Line: i + 2, Params: map[string]string{"n": fmt.Sprint(i)}, Status: string(Pending)}
	}
	if err := st.CreateBatch(context.Background(), b, rows); err != nil {
		t.Fatal(err)
	}
	return st, b, rows
}

// A batch of 20 rows stopped (its context cancelled, as Ctrl-C does) once 8 rows
// completed: the ledger holds 8 completed and 12 not, and a resume runs exactly those 12.
// With several rows at once, the rows running when it stopped are cut off (their runs see
// the cancelled context) and run again too.
func TestStoppedAfterEightResumesWithTwelve(t *testing.T) {
	for _, parallel := range []int{1, 4} {
		t.Run(fmt.Sprintf("max-parallel %d", parallel), func(t *testing.T) {
			st, b, rows := newLedger(t, 20)
			var mu sync.Mutex
			runs := map[int]int{}
			first := true // the run that is stopped; then the resume
			row := func(ctx context.Context, r store.BatchRow) Outcome {
				mu.Lock()
				runs[r.Index]++
				stopping := first
				mu.Unlock()
				if stopping && r.Index >= 8 && parallel > 1 {
					<-ctx.Done() // a run that was going on when pi stopped
					return Outcome{Code: codeInterrupted, RunID: fmt.Sprint("run", r.Index)}
				}
				return Outcome{Code: codeOK, RunID: fmt.Sprint("run", r.Index)}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			completed := 0
			err := Run(ctx, st, b.ID, rows, ToResume(rows, false), Options{MaxParallel: parallel, Row: row,
				Ended: func(r store.BatchRow) {
					if Status(r.Status) == Completed {
						if completed++; completed == 8 {
							cancel()
						}
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			_, stored, err := st.GetBatch(context.Background(), b.ID)
			if err != nil {
				t.Fatal(err)
			}
			left := ToResume(stored, false)
			if len(left) != 12 {
				t.Fatalf("after the stop the ledger has %d rows to resume, want 12: %+v", len(left), stored)
			}
			for _, k := range left {
				if k < 8 {
					t.Fatalf("row %d completed and is resumed", k)
				}
			}
			mu.Lock()
			clear(runs)
			first = false
			mu.Unlock()
			if err := Run(context.Background(), st, b.ID, stored, left, Options{MaxParallel: parallel, Row: row}); err != nil {
				t.Fatal(err)
			}
			if len(runs) != 12 {
				t.Fatalf("the resume ran %d rows, want 12: %v", len(runs), runs)
			}
			for k, n := range runs {
				if k < 8 || n != 1 {
					t.Fatalf("the resume ran row %d %d times", k, n)
				}
			}
			_, final, _ := st.GetBatch(context.Background(), b.ID)
			for _, r := range final {
				if Status(r.Status) != Completed || r.RunID != fmt.Sprint("run", r.Index) || r.EndedAt.IsZero() {
					t.Fatalf("after the resume: %+v", r)
				}
			}
		})
	}
}

// A row is in the ledger as running before its run starts (a kill then leaves it not
// completed), and no more than MaxParallel rows run at once.
func TestRunRecordsBeforeRunning(t *testing.T) {
	st, b, rows := newLedger(t, 9)
	most := 0
	var mu sync.Mutex
	err := Run(context.Background(), st, b.ID, rows, ToResume(rows, false), Options{MaxParallel: 3,
		Row: func(ctx context.Context, r store.BatchRow) Outcome {
			_, stored, err := st.GetBatch(ctx, b.ID)
			if err != nil || Status(stored[r.Index].Status) != Running || stored[r.Index].StartedAt.IsZero() {
				t.Errorf("row %d runs and its ledger says %+v (%v)", r.Index, stored[r.Index], err)
			}
			running := 0
			for _, s := range stored {
				if Status(s.Status) == Running {
					running++
				}
			}
			mu.Lock()
			most = max(most, running)
			mu.Unlock()
			return Outcome{Code: []int{codeOK, codeFailed, codeAPI}[r.Index%3]}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if most > 3 {
		t.Fatalf("the ledger had %d rows running at once, want at most 3", most)
	}
	sum := Summarize(b, rows)
	if sum.ExitCode != codeAPI || sum.Counts[Completed] != 3 || sum.Counts[Failed] != 3 || sum.Counts[Errored] != 3 {
		t.Fatalf("summary: exit %d, counts %v", sum.ExitCode, sum.Counts)
	}
}
