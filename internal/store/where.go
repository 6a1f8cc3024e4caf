package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// Places a run can have run.
const (
	PlaceLocal   = "local"   // pi's own engine (--local)
	PlaceRemote  = "remote"  // a Pi API's Runs API
	PlaceSandbox = "sandbox" // the Runs API of pi's in-process sandbox (--sandbox)
)

// Where is where a run ran.
type Where struct {
	// Place is PlaceLocal, PlaceRemote or PlaceSandbox ("" reads as local).
	Place string
	// Server is the API's base URL of a remote run, the database of a sandbox run's
	// sandbox, "" for a local run.
	Server string
	// RemoteID is the server's id of the run, "" when nothing was sent (every step reused)
	// or the run is local.
	RemoteID string
}

// Remote reports whether the run is on a server that can be asked about it again.
func (w Where) Remote() bool { return w.Place != PlaceLocal && w.Place != "" && w.RemoteID != "" }

// Sandboxed reports whether a sandbox inside pi made the run's jobs: a --sandbox run, or a
// --local --sandbox one (local, with the sandbox's database as its Server), as Filter's
// PlaceSandbox selects them.
func (w Where) Sandboxed() bool {
	return w.Place == PlaceSandbox || w.Place != PlaceRemote && w.Server != ""
}

// Filter selects runs for ListWhere.
type Filter struct {
	// Place is "" for every place; PlaceSandbox selects the runs whose jobs a sandbox
	// made, --local --sandbox ones included (they are PlaceLocal runs too).
	Place  string
	Status run.Status // "" for every status
	Batch  string     // a batch's whole id: only its rows' runs; "" for every run
	Limit  int        // <= 0 for all
}

// RunSummary is one line of `pi runs list`: Summary, and where the run ran.
type RunSummary struct {
	Summary
	Where
	RerunOf string
	BatchID string // the batch (pi run --each) the run is a row of, "" for none
}

// ListWhere returns the runs the filter selects, newest first.
func (s *Store) ListWhere(ctx context.Context, f Filter) ([]RunSummary, error) {
	q := `SELECT id, file, status, created_ms, updated_ms, owner, place, server, remote_id, rerun_of, idle_ms, batch_id FROM runs WHERE 1=1`
	var args []any
	switch f.Place {
	case "":
	case PlaceSandbox: // a --local --sandbox run too: its jobs are the sandbox's
		q += ` AND (place=? OR place=? AND server != '')`
		args = append(args, PlaceSandbox, PlaceLocal)
	default:
		q += ` AND place=?`
		args = append(args, f.Place)
	}
	if f.Status != "" {
		q += ` AND status=?`
		args = append(args, string(f.Status))
	}
	if f.Batch != "" {
		q += ` AND batch_id=?`
		args = append(args, f.Batch)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	q += ` ORDER BY created_ms DESC, rowid DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing runs in %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []RunSummary
	for rows.Next() {
		var sm RunSummary
		var st, owner string
		var c, u, idle int64
		if err := rows.Scan(&sm.ID, &sm.File, &st, &c, &u, &owner, &sm.Place, &sm.Server, &sm.RemoteID, &sm.RerunOf, &idle, &sm.BatchID); err != nil {
			return nil, fmt.Errorf("listing runs in %s: %w", s.path, err)
		}
		sm.Owner, _ = ParseOwner(owner)
		sm.Status, sm.CreatedAt, sm.UpdatedAt = run.Status(st), time.UnixMilli(c), time.UnixMilli(u)
		sm.Idle = time.Duration(idle) * time.Millisecond
		out = append(out, sm)
	}
	return out, rows.Err()
}

// MinPrefix is the shortest id prefix Resolve takes.
const MinPrefix = 4

// AmbiguousError is an id prefix that several recorded runs start with.
type AmbiguousError struct {
	Prefix string
	What   string   // what the ids are of: run, batch ("" is run)
	IDs    []string // the candidates, newest first (at most 10)
}

func (e *AmbiguousError) Error() string {
	what := e.What
	if what == "" {
		what = "run"
	}
	return fmt.Sprintf("%q is the start of %d %s ids: %s; give more of the id", e.Prefix, len(e.IDs), what, strings.Join(e.IDs, ", "))
}

// ErrShortPrefix is a prefix shorter than MinPrefix that is no whole id.
var ErrShortPrefix = errors.New("a run id prefix needs at least 4 characters")

// Resolve is the id of the recorded run that id names: the run of that id, else the one
// run whose id starts with it (at least MinPrefix characters). None is ErrNotFound, several
// an *AmbiguousError.
func (s *Store) Resolve(ctx context.Context, id string) (string, error) {
	return s.resolve(ctx, "runs", "run", id)
}

// resolve is the id of the row of table (runs or batches, both keyed by uuid and with a
// created_ms) that id names, as Resolve says; what names the row in errors.
func (s *Store) resolve(ctx context.Context, table, what, id string) (string, error) {
	fail := func(err error) (string, error) { return "", fmt.Errorf("reading %s in %s: %w", table, s.path, err) }
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id=?`, id).Scan(&n); err != nil {
		return fail(err)
	}
	if n > 0 {
		return id, nil
	}
	if len(id) < MinPrefix {
		return "", fmt.Errorf("%q: %w", id, ErrShortPrefix)
	}
	// Ids are uuids (hex and dashes): a prefix with LIKE's wildcards matches nothing.
	if strings.ContainsAny(id, `%_\`) {
		return "", fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM `+table+` WHERE id LIKE ? || '%' ORDER BY created_ms DESC, rowid DESC LIMIT 11`, strings.ToLower(id))
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return fail(err)
		}
		ids = append(ids, m)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
	case 1:
		return ids[0], nil
	}
	return "", &AmbiguousError{Prefix: id, What: what, IDs: ids[:min(len(ids), 10)]}
}

// SaveRun records r's state (its status, the run without its steps, every step) as the
// last known state of its record: a remote run followed or read again, whose steps are
// the server's (and the reused ones pi recorded).
func (s *Store) SaveRun(ctx context.Context, r *run.Run) error {
	fail := func(err error) error { return fmt.Errorf("saving run %s in %s: %w", r.ID, s.path, err) }
	doc := *r
	doc.Steps = nil
	rj, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encoding run: %w", err)
	}
	st, err := s.prepared()
	if err != nil {
		return fail(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE runs SET status=?, updated_ms=? WHERE id=?`, string(r.Status), time.Now().UnixMilli(), r.ID)
	if err != nil {
		return fail(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("run %s: %w", r.ID, ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE run_docs SET run_json=? WHERE run_id=?`, string(rj), r.ID); err != nil {
		return fail(err)
	}
	if err := s.replaceSteps(ctx, tx, st, r); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	s.forgetSeq(r.ID)
	return nil
}
