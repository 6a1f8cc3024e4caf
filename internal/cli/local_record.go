package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// beforeClaim runs between reading a run to resume and claiming it (tests hold two
// resumes there, to prove only one gets through).
var beforeClaim = func() {}

// claimResume makes this pi process the owner of the run rec holds, atomically: of two
// resumes that read the same record, one proceeds and the other is refused (exit 2).
func claimResume(ctx context.Context, st *store.Store, rec *store.Record) error {
	beforeClaim()
	err := st.Claim(ctx, rec, thisOwner())
	if errors.Is(err, store.ErrClaimed) {
		id := rec.Run.ID
		return UsageErrorf("run %s was resumed by another pi process just now; follow it with 'pi runs get %s --wait'", id, id)
	}
	return err
}

// Seams of the local run's record, so tests can make the database fail.
var (
	saveEvents = func(ctx context.Context, st *store.Store, id string, evs []run.Event) error {
		return st.SaveEvents(ctx, id, evs)
	}
	finishRecord = func(ctx context.Context, st *store.Store, id string, status run.Status) error {
		return st.Finish(ctx, id, status)
	}
)

// recordEvents saves a batch of transitions, retrying a database that is briefly locked or
// full; the error says what is wrong with the file.
func recordEvents(ctx context.Context, st *store.Store, id string, evs []run.Event) error {
	err := store.Retry(ctx, func(ctx context.Context) error { return saveEvents(ctx, st, id, evs) })
	return store.Diagnose(st.Path(), err)
}

// recordFinish saves the run's end, retrying as recordEvents does.
func recordFinish(ctx context.Context, st *store.Store, id string, status run.Status) error {
	err := store.Retry(ctx, func(ctx context.Context) error { return finishRecord(ctx, st, id, status) })
	return store.Diagnose(st.Path(), err)
}

// warnIncomplete says that a run ended but its record does not show it all; the run's own
// outcome (and exit code) stands.
func warnIncomplete(f *Factory, id string, status run.Status, err error) {
	fmt.Fprintf(f.IO.ErrOut, "warning: run %s %s, but its record is incomplete: %v\n  'pi runs get %s' may show it unfinished, and 'pi run --resume %s' would run its unrecorded steps again\n",
		id, status, err, id, id)
}
