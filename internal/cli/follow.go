package cli

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
)

// errFollowTimeout is returned by follow when --timeout passed before the run ended.
var errFollowTimeout = errors.New("timeout")

// followRefresh is the default --interval: the long-poll length asked of the server and the
// least time between two polls. While progress is drawn it is 2 s, so a step's change shows
// within 2 s (the server re-reads the run about once a second and answers a long-poll at
// once when the run ends, so the end shows at once whatever the interval). With nothing
// drawn (-q, -o json) it is the server's maximum, 30 s: the fewest requests.
//
// Request budget, per minute of a run that does not end: 60/interval GETs (30 while a
// table is drawn, 2 with -o json), plus pi run's one POST or pi runs get's first look,
// even against a server that answers at once instead of holding the long-poll.
func followRefresh(showProgress bool) time.Duration {
	if showProgress {
		return defaultFollowInterval
	}
	return 30 * time.Second
}

// defaultFollowInterval is how often a followed run is re-read while progress is drawn.
const defaultFollowInterval = 2 * time.Second

// follower long-polls one run until it is terminal, feeding the changes to a Progress.
type follower struct {
	client   *piapi.Client
	progress render.Progress
	// refresh is the long-poll length asked of the server, and the least time between two
	// polls, so even a server that answers at once gets at most 60/refresh polls a minute.
	refresh time.Duration
	// deadline is --timeout as a point in time; zero means none.
	deadline time.Time
	clock    clock.Clock
}

func newFollower(c *piapi.Client, p render.Progress, refresh time.Duration, deadline time.Time) *follower {
	return &follower{client: c, progress: p, refresh: refresh, deadline: deadline, clock: clock.Real{}}
}

// follow polls run id until it is terminal. prev is the state already shown; nil means
// nothing is shown yet, and the first request reads the state without waiting.
// A transient error (network, 429, 5xx) is shown once as a warning and retried with
// exponential backoff and jitter, honouring Retry-After, until the deadline; any other
// error ends following.
func (fw *follower) follow(ctx context.Context, prev *run.Run, id string) (*run.Run, error) {
	warned := false
	failures := 0
	for {
		if prev != nil && prev.Status.Terminal() {
			return prev, nil
		}
		start := fw.clock.Now()
		wait := fw.refresh
		if !fw.deadline.IsZero() {
			left := fw.deadline.Sub(start)
			if left <= 0 {
				return prev, errFollowTimeout
			}
			wait = min(wait, left)
		}
		// Nothing shown yet (pi runs get --wait): read the state at once, then long-poll.
		longPoll := prev != nil
		r, err := fw.client.GetRun(ctx, id, longPoll, max(wait, time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return prev, ctx.Err()
			}
			var ae *piapi.Error
			if !errors.As(err, &ae) || !ae.Transient() {
				return prev, err
			}
			if !warned {
				fw.progress.Warn(fmt.Sprintf("%v; still trying", err))
				warned = true
			}
			failures++
			if err := fw.pause(ctx, backoff.Follow.Wait(failures, rand.Float64(), ae.RetryAfter)); err != nil {
				return prev, err
			}
			continue
		}
		failures = 0
		if prev == nil {
			fw.progress.Start(r)
		} else {
			for _, e := range run.Diff(prev, r, fw.clock.Now()) {
				fw.progress.Event(e, r)
			}
		}
		prev = r
		if longPoll && !r.Status.Terminal() {
			// A server that honours the long-poll answers a running run after `wait`; one
			// that answers at once (a proxy, another implementation) must not be polled in
			// a tight loop.
			if early := wait - fw.clock.Now().Sub(start); early > 0 {
				if err := fw.pause(ctx, early); err != nil {
					return prev, err
				}
			}
		}
	}
}

// pause sleeps d, cut short at the deadline (the loop then reports the timeout).
func (fw *follower) pause(ctx context.Context, d time.Duration) error {
	if !fw.deadline.IsZero() {
		d = min(d, fw.deadline.Sub(fw.clock.Now()))
	}
	if d <= 0 {
		return nil
	}
	return clock.Sleep(ctx, fw.clock, d)
}
