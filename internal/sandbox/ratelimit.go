package sandbox

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a rate limit: N requests per window of Per.
type Rate struct {
	N   int
	Per time.Duration
}

// String is r as ParseRate reads it ("120/min"); "" for no limit.
func (r Rate) String() string {
	if r.N == 0 {
		return ""
	}
	for _, u := range rateUnits {
		if r.Per == u.per {
			return fmt.Sprintf("%d/%s", r.N, u.name)
		}
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

var rateUnits = []struct {
	name string
	per  time.Duration
}{{"s", time.Second}, {"min", time.Minute}, {"h", time.Hour}}

// ParseRate reads a rate limit: N/s, N/min or N/h (a bare N is per second); 0 is no limit.
func ParseRate(s string) (Rate, error) {
	num, unit, hasUnit := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return Rate{}, fmt.Errorf("rate limit %q: want N/min, N/s or N/h with N a whole number >= 0 (0: no limit)", s)
	}
	if !hasUnit {
		return Rate{N: n, Per: time.Second}, nil
	}
	for _, u := range rateUnits {
		if unit == u.name {
			return Rate{N: n, Per: u.per}, nil
		}
	}
	return Rate{}, fmt.Errorf("rate limit %q: the window must be s, min or h (e.g. 120/min)", s)
}

// limiter is the server's per-key limit, as Unkey (which the Pi server asks:
// src/lib/auth.ts of ngandimoun/pi-api) counts it: windows of rate.Per aligned to the
// epoch (go/internal/services/ratelimit/sequence.go and window.go of unkeyed/unkey), and
// a sliding window over them (sliding_window.go): a request is refused when the current
// window's count plus the previous window's, weighted by the share of the current window
// still to come (truncated to a whole number), would pass the limit. A refused request
// does not count.
type limiter struct {
	rate      Rate // N 0: not enforced
	mu        sync.Mutex
	window    int64 // the current window's number: unix milliseconds / Per
	cur, prev int   // requests counted in the current and the previous window
}

// nominalLimit is what the headers announce per second when no limit is enforced, so
// clients that read them always find them.
const nominalLimit = 1000

func newLimiter(r Rate) *limiter { return &limiter{rate: r} }

// count counts a request at now against the limit n per window of per: whether it is
// allowed, what remains (the limit less the weighted count, at least 0) and the current
// window's end.
func (l *limiter) count(now time.Time, n int, per time.Duration, enforced bool) (bool, int, time.Time) {
	ms, perMs := now.UnixMilli(), per.Milliseconds()
	w := ms / perMs
	l.mu.Lock()
	defer l.mu.Unlock()
	switch w {
	case l.window:
	case l.window + 1:
		l.prev, l.cur = l.cur, 0
	default:
		l.prev, l.cur = 0, 0
	}
	l.window = w
	elapsed := float64(ms-w*perMs) / float64(perMs)
	weighted := func() int { return l.cur + int(float64(l.prev)*(1-elapsed)) }
	allowed := !enforced || weighted()+1 <= n
	if allowed {
		l.cur++
	}
	return allowed, max(n-weighted(), 0), time.UnixMilli((w + 1) * perMs)
}

// limit counts the request and sets the Pi server's headers on every authenticated
// answer (src/lib/auth.ts of ngandimoun/pi-api): X-RateLimit-Limit, -Remaining, and
// -Reset, the current window's end in unix seconds (floored); over the limit it is the
// server's 429: unkey_rate_limited, "Rate limit exceeded for this API key.", and
// Retry-After the whole seconds until Reset (at least 1), sent only while Reset is ahead.
func (s *Server) limit(w http.ResponseWriter) *apiError {
	l := s.limiter
	now := s.opts.Clock.Now()
	rate, enforced := l.rate, l.rate.N > 0
	if !enforced {
		rate = Rate{N: nominalLimit, Per: time.Second}
	}
	allowed, remaining, end := l.count(now, rate.N, rate.Per, enforced)
	reset := end.Unix()
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(rate.N))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	if allowed {
		return nil
	}
	if nowSec := now.Unix(); reset > nowSec {
		h.Set("Retry-After", strconv.FormatInt(max(reset-nowSec, 1), 10))
	}
	return &apiError{status: http.StatusTooManyRequests, typ: errRateLimit, code: "unkey_rate_limited", message: "Rate limit exceeded for this API key."}
}
