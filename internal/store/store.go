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
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/run"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// schemaVersion is stored in PRAGMA user_version; a newer file is refused rather than
// misread.
//
// Version 4 keeps what a run's record holds in rows written once and rows written per
// change: the runs row is small (status, times, owner) and rewritten per batch of
// transitions; run_docs holds the pipeline file and the run without its steps, written
// when the run starts; run_steps holds one row per step, inserted when the run starts and
// updated only when the step changes. (Versions up to 3 kept the pipeline and the whole
// run in the runs row, which every batch rewrote, and the changed steps as JSON in steps.)
const schemaVersion = 4

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
CREATE TABLE IF NOT EXISTS run_docs (
	run_id   TEXT PRIMARY KEY,
	pipeline BLOB NOT NULL,
	run_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_steps (
	run_id       TEXT NOT NULL,
	idx          INTEGER NOT NULL,
	id           TEXT NOT NULL,
	action       TEXT NOT NULL,
	depends_on   TEXT NOT NULL,
	status       TEXT NOT NULL,
	attempts     INTEGER NOT NULL,
	job_id       TEXT NOT NULL,
	error        TEXT NOT NULL,
	started_ms   INTEGER NOT NULL,
	completed_ms INTEGER NOT NULL,
	result       TEXT,
	PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;`

// ErrNotFound is returned by Get for an id the store does not hold.
var ErrNotFound = errors.New("no such local run")

// Store is an open runs database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string

	prepOnce sync.Once
	prepErr  error
	stmts    stmts

	// seq is the last event number this Store wrote per run, so a batch need not ask the
	// database (one pi process writes a run's events; a resume starts a new Store).
	seqMu sync.Mutex
	seq   map[string]int64
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
		return nil, Diagnose(path, fmt.Errorf("creating the runs database directory: %w", err))
	}
	if err := createIfMissing(ctx, path); err != nil {
		return nil, Diagnose(path, fmt.Errorf("creating the runs database: %w", err))
	}
	if err := checkNotEmpty(path); err != nil {
		return nil, err
	}
	return openDB(ctx, path)
}

// createIfMissing makes a new database whole before it appears at path: it is built under a
// temporary name and linked into place, so no process ever sees a half-made file and a
// 0-byte runs.db is always a damaged one. Two pi processes creating it at once both go on
// with the file whose link came first. Where the file system has no hard links, SQLite
// creates the file in place as before.
func createIfMissing(ctx context.Context, path string) error {
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(tmp + suffix)
		}
	}()
	s, err := openDB(ctx, tmp)
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	// A failed link means another process linked its file first (use that one), or a file
	// system without hard links (SQLite then creates the file in place).
	_ = os.Link(tmp, path)
	return nil
}

// openDB opens the database file at path and brings its schema up to date.
func openDB(ctx context.Context, path string) (*Store, error) {
	// busy_timeout lets a second pi process wait for the writer instead of failing.
	dsn := "file:" + path + "?_pragma=busy_timeout(" + strconv.Itoa(busyTimeoutMS) + ")&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, damaged(path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.migrateRetrying(ctx); err != nil {
		db.Close()
		return nil, Diagnose(path, err)
	}
	return s, nil
}

// migrateRetrying is migrate, tried again while another process holds the file's lock in a
// way SQLite does not wait for itself: a new file's switch to WAL while the other process
// creates the schema returns SQLITE_BUSY at once. The wait is bounded like busy_timeout.
func (s *Store) migrateRetrying(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := s.migrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// isBusy reports SQLITE_BUSY (another connection holds the lock).
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 5
}

func damaged(path string, err error) error {
	return &damagedError{path: path, err: err}
}

type damagedError struct {
	path string
	err  error
}

func (e *damagedError) Error() string {
	return fmt.Sprintf("runs database %s is unreadable (%v); move it aside or delete it to start a new record of local runs", e.path, e.err)
}

func (e *damagedError) Unwrap() error { return e.err }

func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return damaged(s.path, err)
	}
	if v > schemaVersion {
		return newerSchema(s.path, v)
	}
	if v == schemaVersion {
		return nil
	}
	// One transaction (BEGIN IMMEDIATE): a second pi opening the file at the same moment
	// waits, then finds the work done.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return damaged(s.path, err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return damaged(s.path, err)
	}
	switch {
	case v > schemaVersion:
		return newerSchema(s.path, v)
	case v == schemaVersion:
		return nil
	}
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return damaged(s.path, err)
	}
	// Version 3 records which pi process owns a run; older files gain the column.
	var hasOwner int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name='owner'`).Scan(&hasOwner); err != nil {
		return damaged(s.path, err)
	}
	if hasOwner == 0 {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT ''`); err != nil {
			return damaged(s.path, err)
		}
	}
	if err := migrateRows(ctx, tx); err != nil {
		return damaged(s.path, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return damaged(s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return damaged(s.path, err)
	}
	return nil
}

func newerSchema(path string, v int) error {
	return fmt.Errorf("runs database %s has schema version %d, newer than this pi understands (%d); upgrade pi or use another XDG_STATE_HOME", path, v, schemaVersion)
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

// Create saves a new run, or replaces the record of a resumed one (keeping its events):
// the runs row, the pipeline file and the run's steps, each step in a row of its own that
// later batches update in place.
func (s *Store) Create(ctx context.Context, rec Record) error {
	fail := func(err error) error { return fmt.Errorf("saving run %s in %s: %w", rec.Run.ID, s.path, err) }
	params, err := json.Marshal(rec.Params)
	if err != nil {
		return fmt.Errorf("encoding params: %w", err)
	}
	doc := *rec.Run
	doc.Steps = nil
	rj, err := json.Marshal(doc)
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
	st, err := s.prepared()
	if err != nil {
		return fail(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO runs(id, file, pipeline, params, status, created_ms, updated_ms, run_json, owner)
		VALUES(?,?,x'',?,?,?,?,'',?)
		ON CONFLICT(id) DO UPDATE SET status=excluded.status, updated_ms=excluded.updated_ms, owner=excluded.owner`,
		rec.Run.ID, rec.File, string(params), string(rec.Run.Status),
		created.UnixMilli(), time.Now().UnixMilli(), rec.Owner); err != nil {
		return fail(err)
	}
	// The pipeline is the same file on a resume: it is written once.
	if _, err := tx.ExecContext(ctx, `INSERT INTO run_docs(run_id, pipeline, run_json) VALUES(?,?,?)
		ON CONFLICT(run_id) DO UPDATE SET run_json=excluded.run_json`, rec.Run.ID, rec.Pipeline, string(rj)); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM run_steps WHERE run_id=?`, rec.Run.ID); err != nil {
		return fail(err)
	}
	ins := tx.StmtContext(ctx, st.insertStep)
	defer ins.Close()
	for i := range rec.Run.Steps {
		step := &rec.Run.Steps[i]
		deps, err := json.Marshal(step.DependsOn)
		if err != nil {
			return fmt.Errorf("encoding step %s: %w", step.ID, err)
		}
		res, err := resultText(step.Result)
		if err != nil {
			return fmt.Errorf("encoding step %s: %w", step.ID, err)
		}
		if _, err := ins.ExecContext(ctx, rec.Run.ID, i, step.ID, step.Action, string(deps), string(step.Status),
			step.Attempts, step.JobID, step.Error, msOf(step.StartedAt), msOf(step.CompletedAt), res); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	s.forgetSeq(rec.Run.ID)
	return nil
}

// Save records one transition and the run's state after it, in one transaction, so the
// record never lags what was shown.
func (s *Store) Save(ctx context.Context, ev run.Event, r *run.Run) error {
	return s.SaveBatch(ctx, []run.Event{ev}, r)
}

// SaveBatch records several transitions, the state of the steps they touched and r's
// status, in one transaction. A step event that does not carry its step (Event.Step) is
// recorded with r's state of the step. Only the touched steps are read from r: SaveEvents
// does the same work without a run.
func (s *Store) SaveBatch(ctx context.Context, evs []run.Event, r *run.Run) error {
	var at map[string]int // step id -> index in r, built only when an event needs it
	filled := make([]run.Event, len(evs))
	for k, ev := range evs {
		if ev.StepID != "" && ev.Step == nil {
			if at == nil {
				at = make(map[string]int, len(r.Steps))
				for i := range r.Steps {
					at[r.Steps[i].ID] = i
				}
			}
			if i, ok := at[ev.StepID]; ok {
				cp := r.Steps[i]
				ev.Step, ev.Index = &cp, i
			}
		}
		filled[k] = ev
	}
	status := r.Status
	return s.save(ctx, r.ID, filled, &status)
}

// SaveEvents records a batch of transitions of run id in one transaction (a group commit:
// a busy run pays one commit per batch, not per event): the events, the steps they touched
// in their state after the batch (each step event carries it, Event.Step), and the run's
// status when a run event is among them. Its cost depends on the batch, not on the run.
func (s *Store) SaveEvents(ctx context.Context, id string, evs []run.Event) error {
	return s.save(ctx, id, evs, nil)
}

func (s *Store) save(ctx context.Context, id string, evs []run.Event, status *run.Status) error {
	fail := func(err error) error { return fmt.Errorf("saving run %s in %s: %w", id, s.path, err) }
	st, err := s.prepared()
	if err != nil {
		return fail(err)
	}
	// The last state of each touched step, in the order first touched.
	var (
		order     []int
		last      = make(map[int]*run.Step, len(evs))
		runStatus run.Status
	)
	for _, ev := range evs {
		switch {
		case ev.StepID != "" && ev.Step != nil:
			if _, seen := last[ev.Index]; !seen {
				order = append(order, ev.Index)
			}
			last[ev.Index] = ev.Step
		case ev.StepID == "" && ev.Status != "":
			runStatus = run.Status(ev.Status)
		}
	}
	if status == nil && runStatus != "" {
		status = &runStatus // SaveBatch's run status wins over the batch's run events
	}
	encoded := make([][]byte, len(evs))
	for k := range evs {
		if encoded[k], err = json.Marshal(evs[k]); err != nil {
			return fmt.Errorf("encoding event: %w", err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	seq, known := s.lastSeq(id)
	if !known {
		if err := tx.StmtContext(ctx, st.maxSeq).QueryRowContext(ctx, id).Scan(&seq); err != nil {
			return fail(err)
		}
	}
	ins := tx.StmtContext(ctx, st.insertEvent)
	for _, ej := range encoded {
		seq++
		if _, err := ins.ExecContext(ctx, id, seq, string(ej)); err != nil {
			return fmt.Errorf("saving an event of run %s in %s: %w", id, s.path, err)
		}
	}
	upd := tx.StmtContext(ctx, st.updateStep)
	for _, i := range order {
		step := last[i]
		res, err := resultText(step.Result)
		if err != nil {
			return fmt.Errorf("encoding step %s: %w", step.ID, err)
		}
		if _, err := upd.ExecContext(ctx, string(step.Status), step.Attempts, step.JobID, step.Error,
			msOf(step.StartedAt), msOf(step.CompletedAt), res, id, i); err != nil {
			return fmt.Errorf("saving step %s of run %s in %s: %w", step.ID, id, s.path, err)
		}
	}
	now := time.Now().UnixMilli()
	if status != nil {
		_, err = tx.StmtContext(ctx, st.setStatus).ExecContext(ctx, string(*status), now, id)
	} else {
		_, err = tx.StmtContext(ctx, st.touch).ExecContext(ctx, now, id)
	}
	if err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		s.forgetSeq(id)
		return fail(err)
	}
	s.setSeq(id, seq)
	return nil
}

// Finish records the end of a run whose transitions are all saved: its status, and that
// no pi process owns it any more. It writes the runs row alone.
func (s *Store) Finish(ctx context.Context, id string, status run.Status) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE runs SET status=?, updated_ms=?, owner='' WHERE id=?`,
		string(status), time.Now().UnixMilli(), id); err != nil {
		return fmt.Errorf("saving run %s in %s: %w", id, s.path, err)
	}
	return nil
}

// Get loads a run with its pipeline. An unknown id gives ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	var rec Record
	var params, status string
	var rj sql.NullString
	var created, updated int64
	err := s.db.QueryRowContext(ctx, `SELECT r.file, d.pipeline, r.params, r.status, r.created_ms, r.updated_ms, d.run_json, r.owner
		FROM runs r LEFT JOIN run_docs d ON d.run_id = r.id WHERE r.id=?`, id).
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
	if rj.Valid {
		if err := json.Unmarshal([]byte(rj.String), rec.Run); err != nil {
			return nil, fmt.Errorf("run %s in %s: %w", id, s.path, err)
		}
	}
	rec.Run.ID = id
	if rec.Run.Steps, err = readSteps(ctx, s.db, id); err != nil {
		return nil, fmt.Errorf("reading run %s from %s: %w", id, s.path, err)
	}
	rec.Run.Status = run.Status(status)
	rec.Run.CreatedAt = time.UnixMilli(created)
	rec.Run.UpdatedAt = time.UnixMilli(updated)
	return &rec, nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func readSteps(ctx context.Context, q querier, id string) ([]run.Step, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, action, depends_on, status, attempts, job_id, error, started_ms, completed_ms, result
		FROM run_steps WHERE run_id=? ORDER BY idx`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	steps := []run.Step{}
	var results resultCache
	for rows.Next() {
		var (
			st               run.Step
			deps, status     string
			res              sql.NullString
			started, stopped int64
		)
		if err := rows.Scan(&st.ID, &st.Action, &deps, &status, &st.Attempts, &st.JobID, &st.Error, &started, &stopped, &res); err != nil {
			return nil, err
		}
		st.Status = run.StepStatus(status)
		st.StartedAt, st.CompletedAt = timeOfMs(started), timeOfMs(stopped)
		if st.DependsOn, err = decodeIDs(deps); err != nil {
			return nil, fmt.Errorf("step %s: depends_on: %w", st.ID, err)
		}
		if res.Valid {
			if st.Result, err = results.decode(res.String); err != nil {
				return nil, fmt.Errorf("step %s: result: %w", st.ID, err)
			}
		}
		steps = append(steps, st)
	}
	return steps, rows.Err()
}

func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func timeOfMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// resultText is a step result as stored: JSON, or NULL for none.
func resultText(res map[string]any) (any, error) {
	if res == nil {
		return nil, nil
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	return string(b), nil
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
