package clock

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Fake is a Clock that moves only when told to, for tests in any package. A manual fake
// (NewFake) moves on Advance: a test waits until the code under test is blocked on the
// clock (BlockUntil), then moves time, so nothing sleeps and durations are exact. An
// automatic fake (NewAuto) moves by d the moment anything waits d, for code that only
// waits between tries (retries, polling): its waits end at once and Waits lists them.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	waits   []time.Duration
	waiters []fakeWaiter
	// changed is closed and replaced whenever a waiter is added, so BlockUntil can wait
	// without polling.
	changed chan struct{}
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

// NewFake returns a manual fake clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// NewAuto returns an automatic fake clock reading start.
func NewAuto(start time.Time) *Fake {
	return &Fake{now: start, auto: true, changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the fake time once the clock has moved by at
// least d: at once when d <= 0 or the clock is automatic (which then moves by d).
func (c *Fake) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	if d <= 0 || c.auto {
		c.now = c.now.Add(max(d, 0))
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	close(c.changed)
	c.changed = make(chan struct{})
	return ch
}

// Advance moves the clock forward by d and fires every waiter that is due, earliest first.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	slices.SortStableFunc(c.waiters, func(a, b fakeWaiter) int { return a.at.Compare(b.at) })
	n := 0
	for n < len(c.waiters) && !c.waiters[n].at.After(c.now) {
		c.waiters[n].ch <- c.now
		n++
	}
	c.waiters = append(c.waiters[:0], c.waiters[n:]...)
}

// Waits returns every duration asked of After so far, in order.
func (c *Fake) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

// Waiters is the number of After channels that have not fired yet.
func (c *Fake) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// BlockUntil waits until at least n After channels are pending, or ctx is done.
func (c *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		k, changed := len(c.waiters), c.changed
		c.mu.Unlock()
		if k >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
