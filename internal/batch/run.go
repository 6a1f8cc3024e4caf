package batch

import (
	"context"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/store"
)

// Ledger is where a batch records its rows (*store.Store).
type Ledger interface {
	SaveBatchRow(ctx context.Context, id string, r store.BatchRow) error
}

// Outcome is how one row's run ended.
type Outcome struct {
	Code  int    // its exit code (DESIGN.md)
	RunID string // its run, "" when none was made
	Err   string // why it could not run, "" for none
}

// Options say how Run runs a batch's rows.
type Options struct {
	// MaxParallel is how many rows run at once (at least 1).
	MaxParallel int
	// Row runs one row's pipeline and says how it ended; the row's RunID is its last run
	// ("" for none), which a resumed row may go on from. ctx is Run's: Ctrl-C reaches the
	// rows that run.
	Row func(ctx context.Context, row store.BatchRow) Outcome
	// Started and Ended, when set, are told of a row once its start, then its end, is in
	// the ledger; one call at a time, from the row's goroutine, before it takes another.
	Started, Ended func(row store.BatchRow)
	// Now is the clock of the rows' times; nil is time.Now.
	Now func() time.Time
}

// DefaultMaxParallel is how many rows run at once unless told: a few paid runs at a time.
const DefaultMaxParallel = 4

// Run runs rows[i] for each i of which, in that order and up to MaxParallel at once, and
// keeps rows and the ledger up to date: a row is recorded running before its run starts
// and with its outcome once it ends. Once ctx is done no further row starts; those left
// stay as they were (not completed) for a later resume. The error is the ledger's first
// (every row still runs: its run has a record of its own).
func Run(ctx context.Context, l Ledger, id string, rows []store.BatchRow, which []int, o Options) error {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	var (
		mu      sync.Mutex // next, ledgerErr and the callbacks
		next    int
		ledgErr error
	)
	save := func(r store.BatchRow) {
		// The end of a row cut off by Ctrl-C is recorded all the same.
		if err := l.SaveBatchRow(context.WithoutCancel(ctx), id, r); err != nil && ledgErr == nil {
			ledgErr = err
		}
	}
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil || next >= len(which) {
			return -1
		}
		k := which[next]
		next++
		r := &rows[k]
		// RunID stays the row's last run until this attempt makes one: a resumed row
		// goes on from it (Options.Row).
		r.Status, r.Code, r.Error = string(Running), 0, ""
		r.StartedAt, r.EndedAt = now(), time.Time{}
		save(*r)
		if o.Started != nil {
			o.Started(*r)
		}
		return k
	}
	end := func(k int, out Outcome) {
		mu.Lock()
		defer mu.Unlock()
		r := &rows[k]
		r.Status, r.Code, r.Error, r.EndedAt = string(StatusOf(out.Code)), out.Code, out.Err, now()
		if out.RunID != "" {
			r.RunID = out.RunID
		}
		save(*r)
		if o.Ended != nil {
			o.Ended(*r)
		}
	}
	var wg sync.WaitGroup
	for range max(1, min(o.MaxParallel, len(which))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := take(); k >= 0; k = take() {
				end(k, o.Row(ctx, rows[k]))
			}
		}()
	}
	wg.Wait()
	return ledgErr
}
