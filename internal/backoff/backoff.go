// Package backoff owns how long pi waits before trying again: one formula (exponential
// with full jitter, capped), the server's Retry-After (capped, and never past a deadline)
// and the retry defaults of every client of Pi. The wait itself is clock.Sleep.
package backoff

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The retry defaults, in one place.
const (
	// StepAttempts, StepBase and StepMax are a local step's retries when it has no retry
	// block: 3 attempts, waits from 1 s doubling to at most 1 min.
	StepAttempts = 3
	StepBase     = time.Second
	StepMax      = time.Minute
	// APIAttempts bounds the tries of one API request, DownloadAttempts those of one image.
	APIAttempts      = 5
	DownloadAttempts = 3
	// MaxRetryAfter caps a server's Retry-After: a 429 saying "come back tomorrow" (or in
	// 2100) is waited for at most this long. Image downloads wait at most
	// DownloadRetryAfter: their host is not the API.
	MaxRetryAfter      = 60 * time.Second
	DownloadRetryAfter = 30 * time.Second
)

// The policies of pi's retries.
var (
	// Step is a local step's (its retry block's backoff replaces Base).
	Step = Policy{Base: StepBase, Max: StepMax}
	// API is one API request's, and one image download's.
	API = Policy{Base: 250 * time.Millisecond, Max: 10 * time.Second}
	// Follow is between polls of a followed run after an error the API client's own
	// retries did not overcome.
	Follow = Policy{Base: time.Second, Max: 30 * time.Second, Min: 100 * time.Millisecond}
)

// Policy is exponential backoff with full jitter: the wait after failed attempt n is
// uniform below a ceiling of Base·2^(n-1), capped at Max, and at least Min.
type Policy struct {
	Base, Max time.Duration
	// Min is the shortest wait (0: none), so jitter never makes a tight loop.
	Min time.Duration
}

// Delay is the wait after failed attempt n (1-based); u is uniform in [0, 1) (rand.Float64).
func (p Policy) Delay(n int, u float64) time.Duration {
	ceil := p.Base
	for k := 1; k < n && ceil < p.Max; k++ {
		ceil *= 2
	}
	ceil = min(ceil, p.Max)
	return max(time.Duration(u*float64(ceil)), p.Min)
}

// Wait is Delay, but never less than the server's Retry-After.
func (p Policy) Wait(n int, u float64, retryAfter time.Duration) time.Duration {
	return max(p.Delay(n, u), retryAfter)
}

// RetryAfter reads a Retry-After header value at now: delay-seconds or an HTTP date; 0
// when absent, malformed or past; never more than limit, nor past deadline when deadline
// is not zero. It is pi's one reader of the header (API client, http.request, downloads).
func RetryAfter(h string, now time.Time, limit time.Duration, deadline time.Time) time.Duration {
	d := parse(strings.TrimSpace(h), now, limit)
	if !deadline.IsZero() {
		d = min(d, max(deadline.Sub(now), 0))
	}
	return d
}

func parse(v string, now time.Time, limit time.Duration) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 63); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || n >= uint64(limit/time.Second) {
			return limit
		}
		return min(time.Duration(n)*time.Second, limit)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(0, t.Sub(now)), limit)
	}
	return 0
}
