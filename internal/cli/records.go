package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// openStore opens the local runs database, only for the commands that need it.
func openStore(ctx context.Context, f *Factory) (*store.Store, error) {
	path, err := store.DefaultPath(f.Getenv)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, path)
}

// exitingRecords is the runs database of a pi process that exits when its command returns
// (Factory.Exits): Close leaves it open. Everything is committed by then; the process's
// exit lets go of it as a crash would, which SQLite's log is made for, and the next pi
// that opens it reads the log (bounded by the store's automatic checkpoints).
type exitingRecords struct{ *store.Store }

func (exitingRecords) Close() error { return nil }

// remoteRunGetter reads a run from the Pi API, for commands that take a run id which is
// not one of this machine's local runs.
func remoteRunGetter(f *Factory) func(ctx context.Context, id string) (*run.Run, error) {
	return func(ctx context.Context, id string) (*run.Run, error) {
		c, err := f.apiClient()
		if err != nil {
			return nil, &ExitError{Code: ExitAPI, Err: fmt.Errorf("run %s is not a local run of this machine, and %w", id, err)}
		}
		r, err := c.GetRun(ctx, id, false, 0)
		if err != nil {
			return nil, fmt.Errorf("get run %s: %w", id, err)
		}
		return r, nil
	}
}

// localRunLookup reads a run from this machine's records only (pi run --web's report of
// the run it just ran); found is false when there is none, or no database yet, which it
// does not create.
func localRunLookup(ctx context.Context, f *Factory) func(id string) (*store.Record, bool, error) {
	return func(id string) (*store.Record, bool, error) {
		path, err := store.DefaultPath(f.Getenv)
		if err != nil {
			return nil, false, nil
		}
		if _, err := os.Stat(path); err != nil {
			return nil, false, nil
		}
		st, err := store.Open(ctx, path)
		if err != nil {
			return nil, false, err
		}
		defer st.Close()
		rec, err := st.Get(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return rec, true, nil
	}
}
