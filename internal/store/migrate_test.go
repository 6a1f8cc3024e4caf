package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// A database written by the previous version (2, no owner column) opens, keeps its runs and
// records owners from then on.
func TestMigrateFromVersion2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	s := openMigrated(t, path,
		`CREATE TABLE runs (id TEXT PRIMARY KEY, file TEXT NOT NULL, pipeline BLOB NOT NULL, params TEXT NOT NULL,
			status TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, run_json TEXT NOT NULL)`,
		`CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (run_id, seq))`,
		`CREATE TABLE steps (run_id TEXT NOT NULL, idx INTEGER NOT NULL, step TEXT NOT NULL, PRIMARY KEY (run_id, idx))`,
		`INSERT INTO runs VALUES ('old', 'old.yaml', x'', '{}', 'failed', 1, 2, '{"id":"old","status":"failed","steps":[]}')`,
		`PRAGMA user_version = 2`,
	)
	old, err := s.Get(ctx, "old")
	if err != nil || old.Run.Status != "failed" || old.Owner != (Owner{}) {
		t.Fatalf("old run after migration: %+v, %v", old, err)
	}
	r := newRun("new")
	if err := s.Create(ctx, Record{Run: r, File: "new.yaml", Owner: Owner{Host: "host", PID: 42}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "new"); err != nil || got.Owner != (Owner{Host: "host", PID: 42}) {
		t.Fatalf("owner = %+v, %v; want host:42", got.Owner, err)
	}
}

// A database of version 3 (the pipeline and the whole run in the runs row, newer step
// states as JSON in steps) opens with every run intact: the steps, their overlay, the
// pipeline and the params; afterwards the runs row no longer holds the big columns.
func TestMigrateFromVersion3(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	runJSON := `{"id":"v3","status":"in_progress","metadata":{"team":"ads"},"steps":[` +
		`{"id":"a","action":"shell.run","status":"completed","depends_on":[],"job_id":null,"result":{"exit_code":0},"error":null,"started_at":100,"completed_at":101,"attempts":1},` +
		`{"id":"b","action":"shell.run","status":"pending","depends_on":["a"],"job_id":null,"result":null,"error":null,"started_at":null,"completed_at":null}]}`
	stepB := `{"id":"b","action":"shell.run","status":"failed","depends_on":["a"],"job_id":"j-1","result":null,"error":"boom","started_at":102,"completed_at":103,"attempts":2}`
	s := openMigrated(t, path,
		`CREATE TABLE runs (id TEXT PRIMARY KEY, file TEXT NOT NULL, pipeline BLOB NOT NULL, params TEXT NOT NULL,
			status TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, run_json TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '')`,
		`CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (run_id, seq))`,
		`CREATE TABLE steps (run_id TEXT NOT NULL, idx INTEGER NOT NULL, step TEXT NOT NULL, PRIMARY KEY (run_id, idx))`,
		`INSERT INTO runs VALUES ('v3', 'v3.yaml', CAST('steps: [...]' AS BLOB), '{"k":"v"}', 'failed', 1000, 2000, '`+runJSON+`', 'host:1')`,
		`INSERT INTO steps VALUES ('v3', 1, '`+stepB+`')`,
		`INSERT INTO events VALUES ('v3', 1, '{"run_id":"v3","step":"a","status":"completed"}')`,
		`PRAGMA user_version = 3`,
	)
	got, err := s.Get(ctx, "v3")
	if err != nil {
		t.Fatal(err)
	}
	r := got.Run
	if r.Status != "failed" || got.File != "v3.yaml" || string(got.Pipeline) != "steps: [...]" || got.Params["k"] != "v" ||
		got.Owner != (Owner{Host: "host", PID: 1}) || r.Metadata["team"] != "ads" || len(r.Steps) != 2 ||
		got.Place != PlaceLocal || got.Remote() || got.Body != nil {
		t.Fatalf("after migration: %+v %+v", got, r)
	}
	a, b := r.Steps[0], r.Steps[1]
	if a.ID != "a" || a.Status != "completed" || a.Result["exit_code"] != 0.0 || a.StartedAt.Unix() != 100 || a.Attempts != 1 {
		t.Errorf("step a = %+v", a)
	}
	if b.ID != "b" || b.Status != "failed" || b.Error != "boom" || b.JobID != "j-1" || b.Attempts != 2 ||
		b.CompletedAt.Unix() != 103 || len(b.DependsOn) != 1 || b.DependsOn[0] != "a" {
		t.Errorf("step b (from the steps overlay) = %+v", b)
	}
	if evs, err := s.Events(ctx, "v3"); err != nil || len(evs) != 1 {
		t.Errorf("events %v, %v", evs, err)
	}
	var big int
	if err := s.db.QueryRow(`SELECT length(pipeline) + length(run_json) FROM runs WHERE id='v3'`).Scan(&big); err != nil || big != 0 {
		t.Errorf("the runs row still holds %d bytes of pipeline and run (%v)", big, err)
	}
	// The migrated run takes new transitions like any other.
	r.Steps[1].Status, r.Status = run.StepCompleted, run.Completed
	if err := s.SaveEvents(ctx, "v3", []run.Event{stepEvent(r, "b"), {RunID: "v3", Status: "completed"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "v3"); err != nil || got.Run.Steps[1].Status != run.StepCompleted || got.Run.Status != run.Completed {
		t.Fatalf("after a save: %+v, %v", got, err)
	}
}

// A database of version 6 (no idle_ms, no creation_key in run_steps) opens with its steps, and from
// then on records the Idempotency-Key of a step's unanswered creation, and reads it back.
func TestMigrateFromVersion6(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	s := openMigrated(t, path,
		`CREATE TABLE runs (id TEXT PRIMARY KEY, file TEXT NOT NULL, pipeline BLOB NOT NULL, params TEXT NOT NULL,
			status TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, run_json TEXT NOT NULL,
			owner TEXT NOT NULL DEFAULT '', place TEXT NOT NULL DEFAULT 'local', server TEXT NOT NULL DEFAULT '', body BLOB,
			rerun_of TEXT NOT NULL DEFAULT '', remote_id TEXT NOT NULL DEFAULT '', cache_read INTEGER NOT NULL DEFAULT 0)`,
		`CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (run_id, seq))`,
		`CREATE TABLE run_docs (run_id TEXT PRIMARY KEY, pipeline BLOB NOT NULL, run_json TEXT NOT NULL)`,
		`CREATE TABLE run_steps (run_id TEXT NOT NULL, idx INTEGER NOT NULL, id TEXT NOT NULL, action TEXT NOT NULL,
			depends_on TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, job_id TEXT NOT NULL, error TEXT NOT NULL,
			started_ms INTEGER NOT NULL, completed_ms INTEGER NOT NULL, result TEXT, PRIMARY KEY (run_id, idx)) WITHOUT ROWID`,
		`INSERT INTO runs VALUES ('v6', 'v6.yaml', x'', '{}', 'cancelled', 1, 2, '', '', 'local', '', NULL, '', '', 0)`,
		`INSERT INTO run_docs VALUES ('v6', CAST('steps: []' AS BLOB), '{"id":"v6","status":"cancelled"}')`,
		`INSERT INTO run_steps VALUES ('v6', 0, 'hero', 'campaigns.generate', '[]', 'cancelled', 1, '', 'cancelled', 1, 2, NULL)`,
		`PRAGMA user_version = 6`,
	)
	got, err := s.Get(ctx, "v6")
	if err != nil || len(got.Run.Steps) != 1 || got.Run.Steps[0].Status != run.StepCancelled || got.Run.Steps[0].MayHaveJob() {
		t.Fatalf("after migration: %+v, %v", got, err)
	}
	r := got.Run
	r.Steps[0].Status, r.Steps[0].CreationKey = run.StepProcessing, "key-1"
	if err := s.SaveEvents(ctx, "v6", []run.Event{stepEvent(r, "hero")}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "v6"); err != nil || got.Run.Steps[0].CreationKey != "key-1" || !got.Run.Steps[0].MayHaveJob() {
		t.Fatalf("the creation key is not recorded: %+v, %v", got.Run.Steps, err)
	}
}

// openMigrated opens the pi store at path after writing an older schema's file there with
// stmts (its tables, rows and PRAGMA user_version), as a pi of that version left it.
func openMigrated(t *testing.T, path string, stmts ...string) *Store {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
