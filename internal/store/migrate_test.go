package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// A database written by the previous version (2, no owner column) opens, keeps its runs and
// records owners from then on.
func TestMigrateFromVersion2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE runs (id TEXT PRIMARY KEY, file TEXT NOT NULL, pipeline BLOB NOT NULL, params TEXT NOT NULL,
			status TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, run_json TEXT NOT NULL)`,
		`CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (run_id, seq))`,
		`CREATE TABLE steps (run_id TEXT NOT NULL, idx INTEGER NOT NULL, step TEXT NOT NULL, PRIMARY KEY (run_id, idx))`,
		`INSERT INTO runs VALUES ('old', 'old.yaml', x'', '{}', 'failed', 1, 2, '{"id":"old","status":"failed","steps":[]}')`,
		`PRAGMA user_version = 2`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old, err := s.Get(ctx, "old")
	if err != nil || old.Run.Status != "failed" || old.Owner != "" {
		t.Fatalf("old run after migration: %+v, %v", old, err)
	}
	r := newRun("new")
	if err := s.Create(ctx, Record{Run: r, File: "new.yaml", Owner: "host:42"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "new"); err != nil || got.Owner != "host:42" {
		t.Fatalf("owner = %q, %v; want host:42", got.Owner, err)
	}
}
