package piapi

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/run"
)

// ErrFollowTimeout is returned by Follow when its deadline passed before the run ended.
var ErrFollowTimeout = errors.New("timeout")

// DefaultFollowInterval is how often a followed run is re-read while progress is drawn.
const DefaultFollowInterval = 2 * time.Second

// FollowInterval is the default interval of Follow (pi's --interval): the long-poll length
// asked of the server and the least time between two polls. While progress is drawn it is
// 2 s, so a step's change shows within 2 s (the server re-reads the run about once a
// second and answers a long-poll at once when the run ends, so the end shows at once
// whatever the interval). With nothing drawn (-q, -o json) it is the server's maximum,
// 30 s: the fewest requests.
//
// Request budget, per minute of a run that does not end: 60/interval GETs (30 while a
// table is drawn, 2 with -o json), plus pi run's one POST or pi runs get's first look,
// even against a server that answers at once instead of holding the long-poll.
func FollowInterval(showProgress bool) time.Duration {
	if showProgress {
		return DefaultFollowInterval
	}
	return 30 * time.Second
}

// FollowObserver is told what Follow sees (render.Progress is one).
type FollowObserver interface {
	// Start is the run's first state, when Follow was given none.
	Start(r *run.Run)
	// Event is one change, with the run after it.
	Event(e run.Event, r *run.Run)
	// Warn is a transient problem Follow is retrying.
	Warn(msg string)
}

// FollowOptions are how Follow polls.
type FollowOptions struct {
	// Interval is the long-poll length asked of the server, and the least time between
	// two polls, so even a server that answers at once gets at most 60/Interval polls a
	// minute (FollowInterval gives the default).
	Interval time.Duration
	// Deadline is --timeout as a point in time; zero means none.
	Deadline time.Time
	// Clock tells the time and waits (tests give a fake one); nil is the wall clock.
	Clock clock.Clock
}

// Follow long-polls run id until it is terminal, telling obs of every change, and returns
// the last state seen. shown is the state already shown; nil means nothing is, and the
// first request reads the state without waiting. A transient error (network, 429, 5xx) is
// told once as a warning and retried with exponential backoff and jitter, honouring
// Retry-After, until the deadline (then ErrFollowTimeout); any other error ends following.
// ctx bounds every request too, not just the waits between them.
func (c *Client) Follow(ctx context.Context, id string, shown *run.Run, obs FollowObserver, o FollowOptions) (*run.Run, error) {
	o.Clock = clock.Or(o.Clock)
	if o.Interval <= 0 {
		o.Interval = DefaultFollowInterval
	}
	f := follower{c: c, obs: obs, o: o}
	return f.follow(ctx, shown, id)
}

type follower struct {
	c        *Client
	obs      FollowObserver
	o        FollowOptions
	warned   bool
	failures int
}

func (f *follower) follow(ctx context.Context, prev *run.Run, id string) (*run.Run, error) {
	for {
		if prev != nil && prev.Status.Terminal() {
			return prev, nil
		}
		start := f.o.Clock.Now()
		wait := f.o.Interval
		if !f.o.Deadline.IsZero() {
			left := f.o.Deadline.Sub(start)
			if left <= 0 {
				return prev, ErrFollowTimeout
			}
			wait = min(wait, left)
		}
		// Nothing shown yet (pi runs get --wait): read the state at once, then long-poll.
		longPoll := prev != nil
		r, err := f.c.GetRun(ctx, id, longPoll, max(wait, time.Second))
		if err != nil {
			if err := f.failed(ctx, err); err != nil {
				return prev, err
			}
			continue
		}
		f.failures = 0
		f.show(prev, r)
		prev = r
		if longPoll && !r.Status.Terminal() {
			// A server that honours the long-poll answers a running run after `wait`; one
			// that answers at once (a proxy, another implementation) must not be polled in
			// a tight loop.
			if early := wait - f.o.Clock.Now().Sub(start); early > 0 {
				if err := f.pause(ctx, early); err != nil {
					return prev, err
				}
			}
		}
	}
}

// show tells the observer what changed from prev to r (everything, when prev is nil).
func (f *follower) show(prev, r *run.Run) {
	if prev == nil {
		f.obs.Start(r)
		return
	}
	for _, e := range run.Diff(prev, r, f.o.Clock.Now()) {
		f.obs.Event(e, r)
	}
}

// failed decides after a failed poll: nil to poll again after a backoff, or the error
// that ends following.
func (f *follower) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ae *Error
	if !errors.As(err, &ae) || !ae.Transient() {
		return err
	}
	if !f.warned {
		f.obs.Warn(fmt.Sprintf("%v; still trying", err))
		f.warned = true
	}
	f.failures++
	// Full jitter over an exponential ceiling (1s, 2s, 4s, ... 30s), at least the
	// server's Retry-After.
	return f.pause(ctx, backoff.Follow.Wait(f.failures, rand.Float64(), ae.RetryAfter))
}

// pause sleeps d, cut short at the deadline (the loop then reports the timeout).
func (f *follower) pause(ctx context.Context, d time.Duration) error {
	if !f.o.Deadline.IsZero() {
		d = min(d, f.o.Deadline.Sub(f.o.Clock.Now()))
	}
	if d <= 0 {
		return nil
	}
	return clock.Sleep(ctx, f.o.Clock, d)
}
