package store

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// A GroupCommit hands every item to commit once, in the order added, and refuses items
// after Close.
func TestGroupCommitOrder(t *testing.T) {
	for _, window := range []int{0, 1} {
		var mu sync.Mutex
		var got []int
		batches := 0
		g := NewGroupCommit(0, func(b []int) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, b...)
			batches++
		})
		if window == 1 {
			g = NewGroupCommit(groupCommitWindow, g.commit)
		}
		var want []int
		for i := range 1000 {
			if !g.Add(i) {
				t.Fatal("Add refused before Close")
			}
			want = append(want, i)
		}
		g.Close()
		if g.Add(-1) {
			t.Fatal("Add accepted after Close")
		}
		g.Close() // twice is fine
		if !slices.Equal(got, want) {
			t.Fatalf("window %d: committed %d items out of order or lost", window, len(got))
		}
		if batches == 0 || batches > 1000 {
			t.Fatalf("%d batches", batches)
		}
	}
}

// A producer far ahead of a slow commit is held at MaxQueued items: no batch is bigger,
// so what waits in memory is bounded, and every item is still committed once, in order.
func TestGroupCommitBounded(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var got []int
	largest := 0
	g := NewGroupCommit(0, func(b []int) {
		<-release // the disk is slow: nothing is committed until the producer is far ahead
		mu.Lock()
		defer mu.Unlock()
		got = append(got, b...)
		largest = max(largest, len(b))
	})
	const n = 3 * MaxQueued
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := range n {
			g.Add(i)
		}
	}()
	// Wait (without sleeping) until the queue is full behind the first batch, or the
	// producer got everything in: a GroupCommit without a bound.
	for full := false; !full; {
		g.mu.Lock()
		full = len(g.queue) >= MaxQueued
		g.mu.Unlock()
		select {
		case <-produced:
			full = true
		default:
			runtime.Gosched()
		}
	}
	close(release)
	<-produced
	g.Close()
	if len(got) != n || largest > MaxQueued {
		t.Fatalf("committed %d of %d, largest batch %d (bound %d)", len(got), n, largest, MaxQueued)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("item %d is %d: out of order", i, v)
		}
	}
}

// failingSink fails SaveEvents n times, then saves; it notes what was saved when.
type failingSink struct {
	*Store
	mu    sync.Mutex
	fail  int
	saved int // events saved so far
}

func (f *failingSink) SaveEvents(ctx context.Context, id string, evs []run.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != 0 {
		f.fail--
		return errors.New("disk I/O error")
	}
	if err := f.Store.SaveEvents(ctx, id, evs); err != nil {
		return err
	}
	f.saved += len(evs)
	return nil
}

func (f *failingSink) savedSoFar() int { f.mu.Lock(); defer f.mu.Unlock(); return f.saved }

// Saved before shown: the display is handed an event only once the batch holding it is
// committed; a save that fails for good leaves the run going (every event still shown)
// and is reported at the end.
func TestRecorderSavesBeforeShowing(t *testing.T) {
	for _, tt := range []struct {
		name string
		fail int // failures of each save; -1 always
	}{{"saved", 0}, {"retried", 2}, {"unsavable", -1}} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), filepath.Join(t.TempDir(), "runs.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sink := &failingSink{Store: s, fail: tt.fail}
			r := &run.Run{ID: "r", Status: run.InProgress}
			for i := range 50 {
				r.Steps = append(r.Steps, run.Step{ID: string(rune('A' + i)), Action: "shell.run", Status: run.StepPending})
			}
			var shown []string
			rec, err := StartRecorder(context.Background(), sink, Record{Run: r.Clone(), File: "p.yaml"}, func(ev run.Event) {
				if tt.fail >= 0 && sink.savedSoFar() <= len(shown) {
					t.Errorf("event %d shown before it was saved", len(shown))
				}
				shown = append(shown, ev.StepID)
			})
			if err != nil {
				t.Fatal(err)
			}
			for i := range r.Steps {
				r.Steps[i].Status = run.StepCompleted
				rec.Observe(stepEvent(r, r.Steps[i].ID))
			}
			err = rec.Finish(run.Completed)
			if len(shown) != len(r.Steps) {
				t.Fatalf("%d events shown, want %d", len(shown), len(r.Steps))
			}
			if (err != nil) != (tt.fail < 0) {
				t.Fatalf("Finish: %v", err)
			}
			got, gerr := s.Get(context.Background(), "r")
			if gerr != nil {
				t.Fatal(gerr)
			}
			if got.Run.Status != run.Completed || got.Owner != (Owner{}) {
				t.Errorf("recorded %s owned by %+v, want completed and released", got.Run.Status, got.Owner)
			}
			if tt.fail >= 0 && got.Run.Steps[49].Status != run.StepCompleted {
				t.Errorf("last step recorded %s", got.Run.Steps[49].Status)
			}
		})
	}
}

// Flush returns only once what was added before it is committed, and ends with its ctx.
func TestGroupCommitFlush(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var got []int
	g := NewGroupCommit(0, func(batch []int) {
		<-release
		mu.Lock()
		got = append(got, batch...)
		mu.Unlock()
	})
	defer g.Close()
	g.Add(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush with an ended ctx while the commit is held: %v", err)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- g.Flush(context.Background()) }()
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned (%v) before the commit", err)
	default:
	}
	close(release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, []int{1}) {
		t.Fatalf("committed %v when Flush returned, want [1]", got)
	}
}
