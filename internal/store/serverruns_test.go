package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// TestServerRuns: a logical run's record lists its server runs, written with the record
// and updated as waves are submitted; a file of version 5 gains the column.
func TestServerRuns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	// A version 5 file (before server_runs), with a run in it.
	s := openMigrated(t, path,
		`CREATE TABLE runs (id TEXT PRIMARY KEY, file TEXT NOT NULL, pipeline BLOB NOT NULL, params TEXT NOT NULL,
			status TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, run_json TEXT NOT NULL,
			owner TEXT NOT NULL DEFAULT '', place TEXT NOT NULL DEFAULT 'local', server TEXT NOT NULL DEFAULT '',
			body BLOB, rerun_of TEXT NOT NULL DEFAULT '', remote_id TEXT NOT NULL DEFAULT '')`,
		`INSERT INTO runs VALUES ('old', 'old.yaml', x'', '{}', 'completed', 1000, 2000, '', '', 'remote', 'https://pi.example', NULL, '', 'r-1')`,
		`PRAGMA user_version = 5`,
	)
	if old, err := s.Get(ctx, "old"); err != nil || old.ServerRuns != nil || old.RemoteID != "r-1" {
		t.Fatalf("the version 5 run: %+v, %v", old, err)
	}
	srs := []ServerRun{{Wave: 1, ID: "r-a", Steps: []string{"a", "b"}, Status: run.InProgress}, {Wave: 2, Steps: []string{"c"}}}
	if err := s.Create(ctx, Record{Run: newRun("logical"), File: "w.yaml", Where: Where{Place: PlaceSandbox}, ServerRuns: srs}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "logical")
	if err != nil || !reflect.DeepEqual(got.ServerRuns, srs) {
		t.Fatalf("ServerRuns = %+v, %v; want %+v", got.ServerRuns, err, srs)
	}
	srs[0].Status, srs[1].ID, srs[1].Status = run.Completed, "r-b", run.Failed
	if err := s.SaveServerRuns(ctx, "logical", srs); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "logical"); err != nil || !reflect.DeepEqual(got.ServerRuns, srs) {
		t.Fatalf("after SaveServerRuns: %+v, %v", got.ServerRuns, err)
	}
	if err := s.SaveServerRuns(ctx, "nope", srs); err == nil {
		t.Error("SaveServerRuns of an unknown run: no error")
	}
}
