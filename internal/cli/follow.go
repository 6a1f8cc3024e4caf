package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
)

// errFollowTimeout is returned by follow when --timeout passed before the run ended.
var errFollowTimeout = errors.New("timeout")

// followRefresh is the long-poll length: short while progress is drawn (so step changes show
// soon), the server's maximum when nothing is drawn (fewest requests).
func followRefresh(showProgress bool) time.Duration {
	if showProgress {
		return 5 * time.Second
	}
	return 30 * time.Second
}

// follow long-polls run id until it is terminal, feeding the changes to p. deadline zero means
// no --timeout. Transient errors are shown once as a warning and retried.
func follow(ctx context.Context, c *piapi.Client, p *render.Progress, prev *run.Run, id string, deadline time.Time, refresh time.Duration) (*run.Run, error) {
	warned := false
	for {
		if prev != nil && prev.Status.Terminal() {
			return prev, nil
		}
		wait := refresh
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return prev, errFollowTimeout
			}
			wait = min(wait, left)
		}
		r, err := c.GetRun(ctx, id, true, max(wait, time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return prev, ctx.Err()
			}
			var ae *piapi.Error
			if errors.As(err, &ae) && ae.Transient() {
				if !warned {
					p.Warn(fmt.Sprintf("%v; still trying", err))
					warned = true
				}
				continue
			}
			return prev, err
		}
		if prev == nil {
			p.Start(r)
		} else {
			for _, e := range run.Diff(prev, r, time.Now()) {
				p.Event(e, r)
			}
		}
		prev = r
	}
}
