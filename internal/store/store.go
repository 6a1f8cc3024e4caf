// Package store owns the local run records: an embedded SQLite database (WAL, so several pi
// processes can write at once) holding each local run, the pipeline as it was run and every
// transition, so `pi runs list`, `pi runs get` and `pi run --resume` can read them back.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pi-cli/pi/internal/run"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// schemaVersion is stored in PRAGMA user_version; a newer file is refused rather than
// misread.
const schemaVersion = 3

const schema = `
CREATE TABLE IF NOT EXISTS runs (
	id         TEXT PRIMARY KEY,
	file       TEXT NOT NULL,
	pipeline   BLOB NOT NULL,
	params     TEXT NOT NULL,
	status     TEXT NOT NULL,
	created_ms INTEGER NOT NULL,
	updated_ms INTEGER NOT NULL,
	run_json   TEXT NOT NULL,
	owner      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_ms DESC);
CREATE TABLE IF NOT EXISTS events (
	run_id TEXT NOT NULL,
	seq    INTEGER NOT NULL,
	event  TEXT NOT NULL,
	PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS steps (
	run_id TEXT NOT NULL,
	idx    INTEGER NOT NULL,
	step   TEXT NOT NULL,
	PRIMARY KEY (run_id, idx)
);`

// ErrNotFound is returned by Get for an id the store does not hold.
var ErrNotFound = errors.New("no such local run")

// Store is an open runs database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
}

// DefaultPath is $XDG_STATE_HOME/pi/runs.db, or ~/.local/state/pi/runs.db.
func DefaultPath(getenv func(string) string) (string, error) {
	if dir := getenv("XDG_STATE_HOME"); dir != "" {
		return filepath.Join(dir, "pi", "runs.db"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locating the runs database: set XDG_STATE_HOME or HOME: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "pi", "runs.db"), nil
}

// Open opens (creating if needed) the database at path. A file that is not a runs
// database gives an error naming it and what to do.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the runs database directory: %w", err)
	}
	// busy_timeout lets a second pi process wait for the writer instead of failing.
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, damaged(path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func damaged(path string, err error) error {
	return fmt.Errorf("runs database %s is unreadable (%v); move it aside or delete it to start a new record of local runs", path, err)
}

func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return damaged(s.path, err)
	}
	if v > schemaVersion {
		return fmt.Errorf("runs database %s has schema version %d, newer than this pi understands (%d); upgrade pi or use another XDG_STATE_HOME", s.path, v, schemaVersion)
	}
	if v == schemaVersion {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		return damaged(s.path, err)
	}
	// Version 3 records which pi process owns a run; older files gain the column.
	var hasOwner int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name='owner'`).Scan(&hasOwner); err != nil {
		return damaged(s.path, err)
	}
	if hasOwner == 0 {
		if _, err := s.db.ExecContext(ctx, `ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT ''`); err != nil {
			return damaged(s.path, err)
		}
	}
	if _, err := s.db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return damaged(s.path, err)
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Record is a stored run: the pipeline as run and its latest state.
type Record struct {
	Run      *run.Run
	File     string
	Pipeline []byte            // the pipeline file's bytes as run
	Params   map[string]string // -p overrides
	// Owner names the pi process executing the run ("host:pid"), so a resume can tell a run
	// that is still going from one whose pi was killed; "" in records of older versions.
	Owner string
}

// Summary is one line of `pi runs list`.
type Summary struct {
	ID        string     `json:"id"`
	File      string     `json:"file"`
	Status    run.Status `json:"status"`
	CreatedAt time.Time  `json:"started_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	Owner     string     `json:"-"` // as in Record
}

// Duration is how long the run took (so far, when not terminal: until its last change).
func (s Summary) Duration() time.Duration { return s.UpdatedAt.Sub(s.CreatedAt) }

// Create saves a new run (or replaces the record of a resumed one, keeping its events).
func (s *Store) Create(ctx context.Context, rec Record) error {
	params, err := json.Marshal(rec.Params)
	if err != nil {
		return fmt.Errorf("encoding params: %w", err)
	}
	rj, err := json.Marshal(rec.Run)
	if err != nil {
		return fmt.Errorf("encoding run: %w", err)
	}
	if rec.Pipeline == nil {
		rec.Pipeline = []byte{}
	}
	created := rec.Run.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO runs(id, file, pipeline, params, status, created_ms, updated_ms, run_json, owner)
		VALUES(?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET status=excluded.status, updated_ms=excluded.updated_ms, run_json=excluded.run_json, owner=excluded.owner`,
		rec.Run.ID, rec.File, rec.Pipeline, string(params), string(rec.Run.Status),
		created.UnixMilli(), time.Now().UnixMilli(), string(rj), rec.Owner)
	if err != nil {
		return fmt.Errorf("saving run %s in %s: %w", rec.Run.ID, s.path, err)
	}
	// run_json now holds every step; per-step rows are only newer changes on top of it.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM steps WHERE run_id=?`, rec.Run.ID); err != nil {
		return fmt.Errorf("saving run %s in %s: %w", rec.Run.ID, s.path, err)
	}
	return nil
}

// Save records one transition and the run's state after it, in one transaction, so the
// record never lags what was shown.
func (s *Store) Save(ctx context.Context, ev run.Event, r *run.Run) error {
	return s.SaveBatch(ctx, []run.Event{ev}, r)
}

// SaveBatch records several transitions and the state of the steps they touched after the
// last of them, in one transaction (a group commit: a busy run pays one commit per batch,
// not per event, and re-encodes only the steps that changed, not the whole run).
func (s *Store) SaveBatch(ctx context.Context, evs []run.Event, r *run.Run) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("saving run %s in %s: %w", r.ID, s.path, err)
	}
	defer tx.Rollback()
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq),0) FROM events WHERE run_id=?`, r.ID).Scan(&seq); err != nil {
		return fmt.Errorf("saving run %s in %s: %w", r.ID, s.path, err)
	}
	for _, ev := range evs {
		ej, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encoding event: %w", err)
		}
		seq++
		if _, err := tx.ExecContext(ctx, `INSERT INTO events(run_id, seq, event) VALUES(?,?,?)`, r.ID, seq, string(ej)); err != nil {
			return fmt.Errorf("saving an event of run %s in %s: %w", r.ID, s.path, err)
		}
	}
	touched := map[string]bool{}
	for _, ev := range evs {
		if ev.StepID != "" && !touched[ev.StepID] {
			touched[ev.StepID] = true
		}
	}
	for i := range r.Steps {
		if !touched[r.Steps[i].ID] {
			continue
		}
		sj, err := json.Marshal(r.Steps[i])
		if err != nil {
			return fmt.Errorf("encoding step %s: %w", r.Steps[i].ID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO steps(run_id, idx, step) VALUES(?,?,?)
			ON CONFLICT(run_id, idx) DO UPDATE SET step=excluded.step`, r.ID, i, string(sj)); err != nil {
			return fmt.Errorf("saving step %s of run %s in %s: %w", r.Steps[i].ID, r.ID, s.path, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET status=?, updated_ms=? WHERE id=?`,
		string(r.Status), time.Now().UnixMilli(), r.ID); err != nil {
		return fmt.Errorf("saving run %s in %s: %w", r.ID, s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("saving run %s in %s: %w", r.ID, s.path, err)
	}
	return nil
}

// Get loads a run with its pipeline. An unknown id gives ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	var rec Record
	var params, rj, status string
	var created, updated int64
	err := s.db.QueryRowContext(ctx, `SELECT file, pipeline, params, status, created_ms, updated_ms, run_json, owner FROM runs WHERE id=?`, id).
		Scan(&rec.File, &rec.Pipeline, &params, &status, &created, &updated, &rj, &rec.Owner)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading run %s from %s: %w", id, s.path, err)
	}
	if err := json.Unmarshal([]byte(params), &rec.Params); err != nil {
		return nil, fmt.Errorf("run %s in %s: params: %w", id, s.path, err)
	}
	rec.Run = new(run.Run)
	if err := json.Unmarshal([]byte(rj), rec.Run); err != nil {
		return nil, fmt.Errorf("run %s in %s: %w", id, s.path, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT idx, step FROM steps WHERE run_id=?`, id)
	if err != nil {
		return nil, fmt.Errorf("reading run %s from %s: %w", id, s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int
		var sj string
		if err := rows.Scan(&idx, &sj); err != nil {
			return nil, fmt.Errorf("reading run %s from %s: %w", id, s.path, err)
		}
		if idx < 0 || idx >= len(rec.Run.Steps) {
			continue
		}
		if err := json.Unmarshal([]byte(sj), &rec.Run.Steps[idx]); err != nil {
			return nil, fmt.Errorf("run %s in %s: step %d: %w", id, s.path, idx, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading run %s from %s: %w", id, s.path, err)
	}
	rec.Run.Status = run.Status(status)
	rec.Run.CreatedAt = time.UnixMilli(created)
	rec.Run.UpdatedAt = time.UnixMilli(updated)
	return &rec, nil
}

// Events returns a run's transitions in the order they were saved.
func (s *Store) Events(ctx context.Context, id string) ([]run.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT event FROM events WHERE run_id=? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("reading events of run %s from %s: %w", id, s.path, err)
	}
	defer rows.Close()
	var evs []run.Event
	for rows.Next() {
		var e string
		var ev run.Event
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(e), &ev); err != nil {
			return nil, fmt.Errorf("run %s in %s: event: %w", id, s.path, err)
		}
		evs = append(evs, ev)
	}
	return evs, rows.Err()
}

// List returns up to limit runs (all when limit <= 0), newest first.
func (s *Store) List(ctx context.Context, limit int) ([]Summary, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, file, status, created_ms, updated_ms, owner FROM runs ORDER BY created_ms DESC, rowid DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing runs in %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		var sm Summary
		var st string
		var c, u int64
		if err := rows.Scan(&sm.ID, &sm.File, &st, &c, &u, &sm.Owner); err != nil {
			return nil, fmt.Errorf("listing runs in %s: %w", s.path, err)
		}
		sm.Status, sm.CreatedAt, sm.UpdatedAt = run.Status(st), time.UnixMilli(c), time.UnixMilli(u)
		out = append(out, sm)
	}
	return out, rows.Err()
}
