package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

func newStoreWithRun(t *testing.T) (*Store, string, *Record) {
	t.Helper()
	return newStoreWithRunBusy(t, busyTimeout)
}

// newStoreWithRunBusy is newStoreWithRun with a database that waits busy for a lock.
func newStoreWithRunBusy(t *testing.T, busy time.Duration) (*Store, string, *Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "runs.db")
	s, err := open(context.Background(), path, busy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := &run.Run{ID: "0b5d4c1e-1111-4222-8333-444455556666", Status: run.Failed,
		Steps: []run.Step{{ID: "a", Action: "shell.run", Status: run.StepFailed}}}
	if err := s.Create(context.Background(), Record{Run: r, File: "p.yaml", Pipeline: []byte("x"), Owner: Owner{Host: "host", PID: 1}}); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Get(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s, path, rec
}

// Of many processes claiming the same record they all read, exactly one wins.
func TestClaimIsAtomic(t *testing.T) {
	s, path, rec := newStoreWithRun(t)
	const n = 8
	var wg sync.WaitGroup
	wins := make(chan int, n)
	for i := range n {
		// Each claimer has its own connection, as separate pi processes would.
		other, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		mine := *rec
		mine.Run = rec.Run.Clone()
		wg.Go(func() {
			err := other.Claim(context.Background(), &mine, Owner{Host: "host", PID: 100 + i})
			switch {
			case err == nil:
				wins <- i
			case !errors.Is(err, ErrClaimed):
				t.Errorf("claim %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(wins)
	var won []int
	for w := range wins {
		won = append(won, w)
	}
	if len(won) != 1 {
		t.Fatalf("%d claims won (%v), want exactly 1", len(won), won)
	}
	got, _ := s.Get(context.Background(), rec.Run.ID)
	if got.Owner != (Owner{Host: "host", PID: 100 + won[0]}) {
		t.Fatalf("owner %q, want the winner's", got.Owner)
	}
	// A claim from a stale read fails too.
	if err := s.Claim(context.Background(), rec, Owner{Host: "host", PID: 99}); !errors.Is(err, ErrClaimed) {
		t.Fatalf("stale claim: %v", err)
	}
}

// Each failure of the file gets its own diagnosis; only a file that is not a database is
// called damaged (move aside); an empty file is never silently started over.
func TestDiagnosis(t *testing.T) {
	t.Run("read-only", func(t *testing.T) {
		_, path, _ := newStoreWithRun(t)
		ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		_, err = ro.Exec(`UPDATE runs SET owner='x'`)
		msg := Diagnose(path, err).Error()
		if !strings.Contains(msg, "cannot be written") || strings.Contains(msg, "delete") || strings.Contains(msg, "unreadable") {
			t.Fatalf("read-only: %s", msg)
		}
	})
	t.Run("locked", func(t *testing.T) {
		s, path, rec := newStoreWithRunBusy(t, 20*time.Millisecond)
		holder, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close()
		conn, err := holder.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(context.Background(), "ROLLBACK")
		err = s.Finish(context.Background(), rec.Run.ID, run.Completed)
		msg := Diagnose(path, err).Error()
		if !strings.Contains(msg, "locked by another process") || strings.Contains(msg, "delete") {
			t.Fatalf("locked: %s", msg)
		}
		tries := 0
		err = Retry(context.Background(), func(ctx context.Context) error { tries++; return s.Finish(ctx, rec.Run.ID, run.Completed) })
		if err == nil || tries != saveRetry.attempts {
			t.Fatalf("Retry on a lock held throughout: %d tries, err %v", tries, err)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "runs.db")
		os.WriteFile(path, nil, 0o644)
		_, err := Open(context.Background(), path)
		if err == nil || !strings.Contains(err.Error(), "is empty (0 bytes)") {
			t.Fatalf("0-byte runs.db: %v", err)
		}
		if st, _ := os.Stat(path); st.Size() != 0 {
			t.Fatal("the empty file was initialised")
		}
	})
	t.Run("new file appears whole", func(t *testing.T) {
		// A second pi opening the path while the first creates it must never find a 0-byte
		// file (it would be refused as damaged): the file is made aside and linked in.
		dir := t.TempDir()
		path := filepath.Join(dir, "runs.db")
		s, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if st, err := os.Stat(path); err != nil || st.Size() == 0 {
			t.Fatalf("new runs.db: %v, %v", st, err)
		}
		leftovers, _ := filepath.Glob(filepath.Join(dir, "runs.db.new-*"))
		if len(leftovers) != 0 {
			t.Fatalf("temporary files left behind: %v", leftovers)
		}
	})
	t.Run("not a database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "runs.db")
		os.WriteFile(path, []byte(strings.Repeat("this is not sqlite ", 400)), 0o644)
		_, err := Open(context.Background(), path)
		if err == nil || !strings.Contains(err.Error(), "move it aside") {
			t.Fatalf("garbage runs.db: %v", err)
		}
	})
}

// Retry tries again after a transient failure and stops at once for one that will not pass.
func TestRetry(t *testing.T) {
	quick := retryPolicy{attempts: saveRetry.attempts}
	n := 0
	if err := quick.do(context.Background(), func(context.Context) error {
		n++
		if n < 3 {
			return errors.New("disk I/O error")
		}
		return nil
	}); err != nil || n != 3 {
		t.Fatalf("n %d err %v", n, err)
	}
	n = 0
	quick.do(context.Background(), func(context.Context) error { n++; return context.Canceled })
	if n != 1 {
		t.Fatalf("a cancelled save was tried %d times", n)
	}
}
