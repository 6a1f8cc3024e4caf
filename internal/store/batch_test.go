package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBatchLedger(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := &Batch{ID: "0b5e1a2c-aaaa-4bbb-8ccc-000000000001", File: "p.yaml", Pipeline: []byte("steps: []\n"), RowsFile: "m.csv",
		Columns: []string{"market", "format"}, Params: map[string]string{"url": "https://x"}, Mode: "sandbox", Shard: "1/2", Owner: Self()}
	rows := []BatchRow{
		{Index: 0, Line: 2, Params: map[string]string{"market": "FR", "format": "story"}, Status: "pending"},
		{Index: 3, Line: 7, Params: map[string]string{"market": "DE", "format": "feed"}, Status: "pending"},
	}
	if err := s.CreateBatch(ctx, b, rows); err != nil {
		t.Fatal(err)
	}
	start := time.UnixMilli(time.Now().UnixMilli())
	done := BatchRow{Index: 3, Line: 7, Params: rows[1].Params, Status: "failed", Code: 1, RunID: "r1", Error: "boom", StartedAt: start, EndedAt: start.Add(time.Second)}
	if err := s.SaveBatchRow(ctx, b.ID, done); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveBatchRow(ctx, b.ID, BatchRow{Index: 9}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a row the batch does not have: %v", err)
	}
	if err := s.Create(ctx, Record{Run: newRun("r1"), File: "p.yaml", BatchID: b.ID}); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Get(ctx, "r1"); err != nil || rec.BatchID != b.ID {
		t.Fatalf("the row's run names batch %q (%v)", rec.BatchID, err)
	}
	got, gotRows, err := s.GetBatch(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.File != b.File || string(got.Pipeline) != string(b.Pipeline) || got.RowsFile != "m.csv" || !reflect.DeepEqual(got.Columns, b.Columns) ||
		!reflect.DeepEqual(got.Params, b.Params) || got.Mode != "sandbox" || got.Shard != "1/2" || got.Owner != Self() {
		t.Fatalf("batch read back: %+v", got)
	}
	want := []BatchRow{rows[0], done}
	for i := range gotRows {
		g, w := gotRows[i], want[i]
		if !g.StartedAt.Equal(w.StartedAt) || !g.EndedAt.Equal(w.EndedAt) {
			t.Fatalf("row %d's times: %v %v, want %v %v", i, g.StartedAt, g.EndedAt, w.StartedAt, w.EndedAt)
		}
		gotRows[i].StartedAt, gotRows[i].EndedAt = w.StartedAt, w.EndedAt
	}
	if !reflect.DeepEqual(gotRows, want) {
		t.Fatalf("rows read back:\n%+v\nwant\n%+v", gotRows, want)
	}
	for _, prefix := range []string{b.ID, "0b5e", "0B5E1A2C"} {
		if id, err := s.ResolveBatch(ctx, prefix); err != nil || id != b.ID {
			t.Errorf("ResolveBatch(%q) = %q, %v", prefix, id, err)
		}
	}
	for _, none := range []string{"0b5", "ffff", "0b5e%", "r1"} {
		if _, err := s.ResolveBatch(ctx, none); !errors.Is(err, ErrNotFound) {
			t.Errorf("ResolveBatch(%q): %v, want not found", none, err)
		}
	}
	// a prefix of two batches names both, as batch ids
	other := *b
	other.ID = "0b5e9999-aaaa-4bbb-8ccc-000000000002"
	if err := s.CreateBatch(ctx, &other, nil); err != nil {
		t.Fatal(err)
	}
	var amb *AmbiguousError
	if _, err := s.ResolveBatch(ctx, "0b5e"); !errors.As(err, &amb) || len(amb.IDs) != 2 || !strings.Contains(err.Error(), `"0b5e" is the start of 2 batch ids`) {
		t.Errorf("ResolveBatch of two batches' prefix: %v", err)
	}
	if _, _, err := s.GetBatch(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetBatch of no batch: %v", err)
	}
}

// A batch whose pi process runs is not claimed; once released (or its process gone), one
// of two claims from the same read wins.
func TestClaimBatch(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	alive := Self()
	alive.PID = 1 // init: alive, and not this process
	alive.Start = ""
	b := &Batch{ID: "b", Mode: "local", Owner: alive}
	if err := s.CreateBatch(ctx, b, nil); err != nil {
		t.Fatal(err)
	}
	var owned *OwnedError
	if err := s.ClaimBatch(ctx, b, Self()); !errors.As(err, &owned) || owned.Owner.PID != 1 {
		t.Fatalf("claim of a batch whose pi runs: %v", err)
	}
	gone := Self()
	gone.Start = "not-" + gone.Start // this pid, another start: a process that is gone
	b2 := &Batch{ID: "b2", Mode: "local", Owner: gone}
	if err := s.CreateBatch(ctx, b2, nil); err != nil {
		t.Fatal(err)
	}
	first, _, _ := s.GetBatch(ctx, "b2")
	second, _, _ := s.GetBatch(ctx, "b2")
	if err := s.ClaimBatch(ctx, first, Self()); err != nil {
		t.Fatalf("claim of a batch whose pi is gone: %v", err)
	}
	other := Self()
	other.PID++
	if err := s.ClaimBatch(ctx, second, other); !errors.Is(err, ErrClaimed) {
		t.Fatalf("the second claim: %v, want ErrClaimed", err)
	}
	if err := s.ReleaseBatch(ctx, first); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.GetBatch(ctx, "b2"); got.Owner != (Owner{}) {
		t.Fatalf("released batch owned by %+v", got.Owner)
	}
}

// A version 9 file gains the batches and the runs' batch column; its runs are in none.
func TestMigrateFromVersion9(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "runs.db")
	v9 := `CREATE TABLE runs (id TEXT PRIMARY KEY, file TEXT NOT NULL, pipeline BLOB NOT NULL, params TEXT NOT NULL,
		status TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, run_json TEXT NOT NULL,
		owner TEXT NOT NULL DEFAULT '', place TEXT NOT NULL DEFAULT 'local', server TEXT NOT NULL DEFAULT '', body BLOB,
		rerun_of TEXT NOT NULL DEFAULT '', remote_id TEXT NOT NULL DEFAULT '', cache_read INTEGER NOT NULL DEFAULT 0,
		idle_ms INTEGER NOT NULL DEFAULT 0, server_runs TEXT NOT NULL DEFAULT '')`
	s := openMigrated(t, path,
		v9,
		`CREATE TABLE run_docs (run_id TEXT PRIMARY KEY, pipeline BLOB NOT NULL, run_json TEXT NOT NULL)`,
		`INSERT INTO runs(id, file, pipeline, params, status, created_ms, updated_ms, run_json) VALUES ('old', 'old.yaml', x'', '{}', 'completed', 1, 2, '')`,
		`INSERT INTO run_docs VALUES ('old', x'', '{"id":"old","status":"completed"}')`,
		`PRAGMA user_version = 9`,
	)
	if old, err := s.Get(ctx, "old"); err != nil || old.BatchID != "" || old.Run.Status != "completed" {
		t.Fatalf("old run: %+v, %v", old, err)
	}
	if err := s.CreateBatch(ctx, &Batch{ID: "b", Mode: "local"}, []BatchRow{{Status: "pending"}}); err != nil {
		t.Fatal(err)
	}
}
