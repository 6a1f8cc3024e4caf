package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pi-cli/pi/internal/run"
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
//
// Version 5 records every run, not only local ones: where it ran (place: local, remote or
// sandbox; server: the API's base URL, or the sandbox's database), the exact Runs API body
// sent, the run it reruns, and the server's run id (remote_id, "" when nothing was sent).
//
// Version 6 records whether a run was started with --cache=read (cache_read), so that
// reading it again later puts nothing of it into the step cache.
//
// Version 7 records the time no pi process worked on a run (idle_ms, in milliseconds):
// each resume adds the gap since the run's last record, so a resumed run's duration is the
// sum of the spans pi worked on it, not the time since its creation.
//
// Version 8 records, per step, the Idempotency-Key of a job creation sent without an
// answer yet (run_steps.creation_key): saved before the creation is sent, so a resume sends
// the same key and a job that may exist is never paid for twice.
//
// Version 9 records a logical run of several server runs (a pipeline of more than 10 steps
// sent in waves): server_runs lists them as JSON (each wave's server run id, its steps and
// last known status), empty for a run that is one server run or none.
//
// Version 10 adds the batches of pi run --each: batches (the pipeline, the rows file, how
// its rows run, which pi process owns it) and batch_rows (one row each: its params, status,
// exit code and run), and the batch a run belongs to (runs.batch_id, "" for none).
const schemaVersion = 10

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
	owner      TEXT NOT NULL DEFAULT '',
	place      TEXT NOT NULL DEFAULT 'local',
	server     TEXT NOT NULL DEFAULT '',
	body       BLOB,
	rerun_of   TEXT NOT NULL DEFAULT '',
	remote_id  TEXT NOT NULL DEFAULT '',
	cache_read INTEGER NOT NULL DEFAULT 0,
	idle_ms    INTEGER NOT NULL DEFAULT 0,
	server_runs TEXT NOT NULL DEFAULT '',
	batch_id   TEXT NOT NULL DEFAULT ''
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
	creation_key TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
	id         TEXT PRIMARY KEY,
	file       TEXT NOT NULL,
	pipeline   BLOB NOT NULL,
	rows_file  TEXT NOT NULL,
	columns    TEXT NOT NULL,
	params     TEXT NOT NULL,
	mode       TEXT NOT NULL,
	shard      TEXT NOT NULL,
	created_ms INTEGER NOT NULL,
	owner      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS batch_rows (
	batch_id   TEXT NOT NULL,
	idx        INTEGER NOT NULL,
	line       INTEGER NOT NULL,
	params     TEXT NOT NULL,
	status     TEXT NOT NULL,
	code       INTEGER NOT NULL,
	run_id     TEXT NOT NULL,
	error      TEXT NOT NULL,
	started_ms INTEGER NOT NULL,
	ended_ms   INTEGER NOT NULL,
	PRIMARY KEY (batch_id, idx)
) WITHOUT ROWID;`

// migrate brings the file's schema up to date. A file of the current version costs one
// read of its user_version and nothing more.
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
	if err := upgrade(ctx, tx); err != nil {
		return damaged(s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return damaged(s.path, err)
	}
	return nil
}

// upgrade brings a file of an older version (or a new, empty one) to schemaVersion, in the
// migration's transaction.
func upgrade(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return err
	}
	// Version 3 records which pi process owns a run, version 5 where every run ran,
	// version 6 --cache=read, version 7 the idle time of resumed runs, version 8 a step's
	// unanswered creation, version 9 the server runs of a logical run, version 10 the
	// batch of a run; older files gain the columns (their runs are all local, none was
	// idle, each is one server run or none, in no batch).
	if err := addColumns(ctx, tx, "run_steps", []string{`creation_key TEXT NOT NULL DEFAULT ''`}); err != nil {
		return err
	}
	if err := addColumns(ctx, tx, "runs", []string{
		`owner TEXT NOT NULL DEFAULT ''`,
		`place TEXT NOT NULL DEFAULT 'local'`,
		`server TEXT NOT NULL DEFAULT ''`,
		`body BLOB`,
		`rerun_of TEXT NOT NULL DEFAULT ''`,
		`remote_id TEXT NOT NULL DEFAULT ''`,
		`cache_read INTEGER NOT NULL DEFAULT 0`,
		`idle_ms INTEGER NOT NULL DEFAULT 0`,
		`server_runs TEXT NOT NULL DEFAULT ''`,
		`batch_id TEXT NOT NULL DEFAULT ''`,
	}); err != nil {
		return err
	}
	if err := migrateRows(ctx, tx); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion))
	return err
}

// addColumns adds to table (runs or run_steps) the columns (name and definition) it lacks.
func addColumns(ctx context.Context, tx *sql.Tx, table string, columns []string) error {
	for _, def := range columns {
		name, _, _ := strings.Cut(def, " ")
		var has int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name=?`, table, name).Scan(&has); err != nil {
			return err
		}
		if has > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+table+` ADD COLUMN `+def); err != nil {
			return err
		}
	}
	return nil
}

func newerSchema(path string, v int) error {
	return fmt.Errorf("runs database %s has schema version %d, newer than this pi understands (%d); upgrade pi or use another XDG_STATE_HOME", path, v, schemaVersion)
}

// oldRun is a run of a version 1-3 file, as migrateRows moves it.
type oldRun struct {
	id       string
	pipeline []byte
	run      run.Run
}

// migrateRows moves the runs of a version 1-3 file into the version 4 tables: the pipeline
// and the run (without its steps) to run_docs, each step to run_steps (the run's JSON with
// the newer per-step changes of the old steps table on top), and empties the old columns,
// so every later write of the runs row is small. It runs in the migration's transaction.
func migrateRows(ctx context.Context, tx *sql.Tx) error {
	var hasOldSteps int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='steps'`).Scan(&hasOldSteps); err != nil {
		return err
	}
	old, err := readOldRuns(ctx, tx)
	if err != nil {
		return err
	}
	for k := range old {
		o := &old[k]
		if hasOldSteps > 0 {
			if err := overlayOldSteps(ctx, tx, o.id, &o.run); err != nil {
				return err
			}
		}
		if err := moveOldRun(ctx, tx, o); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET pipeline=x'', run_json='' WHERE run_json != ''`); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DROP TABLE IF EXISTS steps`)
	return err
}

// readOldRuns reads the runs whose record is still in the runs row (versions 1-3).
func readOldRuns(ctx context.Context, tx *sql.Tx) ([]oldRun, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, pipeline, run_json FROM runs WHERE run_json != ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var old []oldRun
	for rows.Next() {
		var o oldRun
		var rj string
		if err := rows.Scan(&o.id, &o.pipeline, &rj); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(rj), &o.run); err != nil {
			return nil, fmt.Errorf("run %s: %w", o.id, err)
		}
		if o.pipeline == nil {
			o.pipeline = []byte{}
		}
		old = append(old, o)
	}
	return old, rows.Err()
}

// moveOldRun writes an old run's document and steps into run_docs and run_steps.
func moveOldRun(ctx context.Context, tx *sql.Tx, o *oldRun) error {
	steps := o.run.Steps
	o.run.Steps = nil
	doc, err := json.Marshal(o.run)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO run_docs(run_id, pipeline, run_json) VALUES(?,?,?)`, o.id, o.pipeline, string(doc)); err != nil {
		return err
	}
	for i := range steps {
		st := &steps[i]
		deps, err := json.Marshal(st.DependsOn)
		if err != nil {
			return err
		}
		res, err := resultText(st.Result)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO run_steps(run_id, idx, id, action, depends_on, status, attempts, job_id, error, started_ms, completed_ms, result)
			VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`, o.id, i, st.ID, st.Action, string(deps), string(st.Status),
			st.Attempts, st.JobID, st.Error, msOf(st.StartedAt), msOf(st.CompletedAt), res); err != nil {
			return err
		}
	}
	return nil
}

// overlayOldSteps applies a version 2-3 run's per-step rows (JSON, newer than its run_json).
func overlayOldSteps(ctx context.Context, tx *sql.Tx, id string, r *run.Run) error {
	rows, err := tx.QueryContext(ctx, `SELECT idx, step FROM steps WHERE run_id=?`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var idx int
		var sj string
		if err := rows.Scan(&idx, &sj); err != nil {
			return err
		}
		if idx < 0 || idx >= len(r.Steps) {
			continue
		}
		if err := json.Unmarshal([]byte(sj), &r.Steps[idx]); err != nil {
			return fmt.Errorf("run %s: step %d: %w", id, idx, err)
		}
	}
	return rows.Err()
}
