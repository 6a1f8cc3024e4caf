package store

import (
	"context"
	"sync"
	"time"
)

// GroupCommit hands the items given to Add to commit in batches, on a goroutine of its own,
// one batch at a time and in order: a batch is what arrives within window after its first
// item (all that is queued when window is 0), or until Close. Add does not wait for a
// commit, so a producer (the engine's observer, a server's handler) is not held by the
// disk, unless MaxQueued items wait already: then it waits until the queue is taken, so a
// producer far ahead of the disk goes at its pace instead of holding every item it made
// (at 100,000 steps on a busy machine, tens of MiB of step states). commit pays one
// transaction per batch instead of one per item.
type GroupCommit[T any] struct {
	window time.Duration
	commit func(batch []T)

	mu     sync.Mutex
	queue  []T
	spare  []T // the last batch's array, reused for the next queue
	closed bool
	// taken is closed (and replaced) whenever the loop takes the queue: an Add waiting for
	// room waits on it.
	taken chan struct{}

	// added counts the items given to Add, committed those whose batch commit returned;
	// progress is closed (and replaced) at every commit, for Flush.
	added, committed int
	progress         chan struct{}

	wake  chan struct{}
	ended chan struct{} // closed by Close: flush at once
	done  chan struct{} // closed when the last batch is committed
}

// MaxQueued is how many items Add queues before it waits for the queue to be taken.
const MaxQueued = 1024

// NewGroupCommit starts the goroutine that calls commit. The batch commit receives is
// reused once commit returns: commit must not keep it.
func NewGroupCommit[T any](window time.Duration, commit func(batch []T)) *GroupCommit[T] {
	g := &GroupCommit[T]{window: window, commit: commit,
		wake: make(chan struct{}, 1), ended: make(chan struct{}), done: make(chan struct{}), progress: make(chan struct{}),
		taken: make(chan struct{})}
	go g.loop()
	return g
}

// Add queues item for the next batch, first waiting for room while MaxQueued items are
// queued. It reports false, and queues nothing, after Close.
func (g *GroupCommit[T]) Add(item T) bool {
	g.mu.Lock()
	for len(g.queue) >= MaxQueued && !g.closed {
		taken := g.taken
		g.mu.Unlock()
		<-taken
		g.mu.Lock()
	}
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.queue = append(g.queue, item)
	g.added++
	first := len(g.queue) == 1
	g.mu.Unlock()
	if first {
		// The loop takes the whole queue when it wakes: it needs waking only when the
		// queue was empty, not at every item.
		g.signal()
	}
	return true
}

// Flush returns once every item given to Add before it was committed (its batch's commit
// returned), or when ctx ends first (its error), or the GroupCommit is closed.
func (g *GroupCommit[T]) Flush(ctx context.Context) error {
	g.mu.Lock()
	target := g.added
	g.mu.Unlock()
	for {
		g.mu.Lock()
		done, progress := g.committed >= target, g.progress
		g.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-progress:
		case <-g.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close commits what is queued, stops the goroutine and waits for it.
func (g *GroupCommit[T]) Close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		<-g.done
		return
	}
	g.closed = true
	g.mu.Unlock()
	close(g.ended)
	g.signal()
	<-g.done
}

func (g *GroupCommit[T]) signal() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

func (g *GroupCommit[T]) loop() {
	defer close(g.done)
	var window *time.Timer
	if g.window > 0 {
		window = time.NewTimer(g.window)
		defer window.Stop()
	}
	for {
		<-g.wake
		if window != nil {
			window.Reset(g.window)
			select {
			case <-window.C:
			case <-g.ended:
			}
		}
		g.mu.Lock()
		batch, closed := g.queue, g.closed
		g.queue, g.spare = g.spare[:0], batch
		close(g.taken)
		g.taken = make(chan struct{})
		g.mu.Unlock()
		if len(batch) > 0 {
			g.commit(batch)
			clear(batch) // what the items point to may be collected
			g.mu.Lock()
			g.committed += len(batch)
			close(g.progress)
			g.progress = make(chan struct{})
			g.mu.Unlock()
		}
		if closed {
			return
		}
	}
}
