package piapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/clock"
)

// Bounds of the pacing (docs/running.md, "Pacing").
const (
	// startConcurrency is how many requests (long-polls aside) a limiter lets be in flight
	// at first; it grows by one per round of answers without a 429 up to maxConcurrency
	// and halves on a 429, down to one.
	startConcurrency = 8
	maxConcurrency   = 64
	// lowShare: once the window's budget is at most this share of its limit, the rest is
	// spread evenly until the window resets instead of sent at once.
	lowShare = 10
	// maxPace is the longest one request is held by the pacing (a window that resets in
	// days, a quota): as long as pi waits out a Retry-After. The server decides then.
	maxPace = backoff.MaxRetryAfter
	// paceHorizon: only a window that resets within it is paced by its headers. The Pi
	// server's primary limit may be a monthly quota; spreading its last requests over days
	// would stall a run that the quota still allows, so there the server's 429 decides.
	paceHorizon = 5 * time.Minute
	// resetSlack is how long after a window's reset the first request waits: at the
	// reset's very instant a sliding window still counts all of the last one.
	resetSlack = 50 * time.Millisecond
	// paceMargin keeps the limit's pace a little under its rate: requests do not reach
	// the server exactly as evenly as they leave.
	paceMargin = 0.03
	// maxResetAhead is the furthest an X-RateLimit-Reset may lie: the server's longest
	// window is a monthly quota (30 days). A later one is not believed.
	maxResetAhead = 31 * 24 * time.Hour
	// maxRateValue bounds X-RateLimit-Limit and -Remaining (Unkey's own maximum is 10^6).
	maxRateValue = 1 << 40
)

// Limiter paces every request one pi process makes to one API origin: runs, jobs, polls
// and downloads from it, for all the runs and rows of a batch. It is adaptive: at most
// Concurrency requests are in flight (long-polls aside: a held poll costs the server one
// request, and counting it would let one followed run block every other request for 30 s),
// growing by one per round of answers and halving on a 429 (AIMD); a 429's Retry-After
// stops every request until it passed; and when X-RateLimit-Remaining says the window's
// budget is low, the rest is spread evenly until X-RateLimit-Reset. Every wait ends with
// the caller's context, and a wait that would end past its deadline is not begun.
type Limiter struct {
	origin string
	clk    clock.Clock

	mu        sync.Mutex
	conc      float64 // the concurrency cap
	inflight  int     // requests holding a slot (long-polls hold none)
	sent      map[uint64]struct{}
	seq       uint64    // of the last request let go
	notBefore time.Time // nothing goes before (a 429's Retry-After)
	last      time.Time // when the last request went (spacing)
	win       rateWindow
	// period is the window's length, once two resets were seen.
	period time.Duration
	// probe is the request let go once a window ended while its length was unknown: the
	// others wait for its answer (0: none is out). It happens once: the answer tells the
	// length. A long-poll probe holds the others until it is answered.
	probe uint64
	// refills: the window carries the last one's count and refills as it goes (sliding).
	refills bool
	// decreasedAt is the last request let go when the cap was last halved: a 429 to an
	// earlier one is the same congestion and does not halve it again.
	decreasedAt uint64
	changed     chan struct{} // closed and replaced when a slot frees
	stats       LimiterStats
}

// LimiterStats is what a limiter did so far.
type LimiterStats struct {
	// Requests went out; Throttled of them were answered 429.
	Requests, Throttled int
	// Concurrency is the cap now, MinConcurrency the lowest it was.
	Concurrency, MinConcurrency int
}

// rateWindow is the server's window as its last answers said.
type rateWindow struct {
	limit, remaining int64
	reset            time.Time // zero: none known
	// after is the request whose answer said remaining: the requests let go after it
	// are not counted in it yet.
	after uint64
}

// NewLimiter returns the limiter of the API at origin (scheme://host[:port]); clk times
// its waits (nil: the wall clock).
func NewLimiter(origin string, clk clock.Clock) *Limiter {
	return &Limiter{origin: originOf(origin), clk: clock.Or(clk), conc: startConcurrency,
		sent: map[uint64]struct{}{}, changed: make(chan struct{}),
		stats: LimiterStats{Concurrency: startConcurrency, MinConcurrency: startConcurrency}}
}

// Stats is what the limiter did so far.
func (l *Limiter) Stats() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// permit is one request let go; done tells the limiter its answer.
type permit struct {
	l        *Limiter
	seq      uint64
	longPoll bool
	// waited is how long the request was held on the limiter's clock, and why (--debug).
	waited time.Duration
	why    string
}

// acquire waits until a request may go. A nil limiter lets everything go at once.
func (l *Limiter) acquire(ctx context.Context, longPoll bool) (*permit, error) {
	if l == nil {
		return &permit{}, nil
	}
	var began time.Time
	held := ""
	for {
		l.mu.Lock()
		now := l.clk.Now()
		if began.IsZero() {
			began = now
		}
		at, why := l.startAt(now)
		probing := l.probingLocked(now)
		if !at.After(now) && !probing && (longPoll || l.inflight < int(l.conc)) {
			p := l.letGoLocked(now, longPoll)
			l.mu.Unlock()
			p.waited, p.why = now.Sub(began), held
			return p, nil
		}
		changed := l.changed
		l.mu.Unlock()
		if !at.After(now) { // a slot or the probe's answer: wait until it comes
			held = fmt.Sprintf("%d requests in flight, the most the API takes now", int(l.Stats().Concurrency))
			if probing {
				held = "the answer to the first request of a new window, which says how full it is"
			}
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		d := at.Sub(now)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return nil, &Error{paced: true, Type: "rate_limit_error", RetryAfter: d,
				Message: fmt.Sprintf("the API's rate limit lets the next request go only at %s (%s), after the deadline; it was not sent", at.UTC().Format(time.RFC3339), why)}
		}
		held = why
		if err := clock.Sleep(ctx, l.clk, d); err != nil {
			return nil, err
		}
	}
}

// startAt is when the next request may go, and why it waits.
func (l *Limiter) startAt(now time.Time) (time.Time, string) {
	at, why := l.notBefore, "a 429's Retry-After"
	w := l.win
	if w.reset.IsZero() || w.reset.Sub(now) > paceHorizon {
		return at, why
	}
	next, why2 := l.paceLocked(now)
	if next.After(at) {
		return next, why2
	}
	return at, why
}

// paceLocked is when the window lets the next request go: at once while its budget is
// more than a tenth of the limit; below that spread until the reset, and no faster than
// the limit's own pace on a window that refills as it goes (a sliding window, as the Pi
// server's, which carries the last window's count into the next); at 0, on a window that
// does not refill, at the reset. Once the window ended with no answer from the next one
// yet, requests go at the limit's pace until one tells.
func (l *Limiter) paceLocked(now time.Time) (time.Time, string) {
	w, pace := l.win, l.pace()
	if !w.reset.After(now) {
		return l.last.Add(pace), "the limit's pace, until an answer tells of the new window"
	}
	budget := w.remaining
	for seq := range l.sent {
		if seq > w.after {
			budget--
		}
	}
	switch {
	case budget*lowShare > w.limit && budget > 2:
		return time.Time{}, ""
	case budget > 0:
		gap := w.reset.Sub(now) / time.Duration(budget)
		if l.refills && pace > 0 {
			gap = min(gap, pace)
		}
		return l.last.Add(min(gap, maxPace)), "the window's last requests spread until X-RateLimit-Reset"
	case l.refills && pace > 0:
		return l.last.Add(pace), "X-RateLimit-Remaining 0: the limit's pace while the window refills"
	}
	next := w.reset.Add(resetSlack)
	if capped := l.last.Add(maxPace); !l.last.IsZero() && capped.Before(next) {
		next = capped
	}
	return next, "X-RateLimit-Remaining 0 until X-RateLimit-Reset"
}

// pace is the gap between two requests at a little under the limit's rate: the
// window's length (the distance between two resets) over its limit, plus paceMargin. 0
// while the length is unknown.
func (l *Limiter) pace() time.Duration {
	if l.period <= 0 || l.win.limit <= 0 {
		return 0
	}
	return time.Duration(float64(l.period) / float64(l.win.limit) * (1 + paceMargin))
}

// probingLocked reports whether a request must wait for the answer to the probe: the
// window ended while its length was unknown, so nothing says how much of it the next
// window carries (a sliding window refuses a burst at its start) until one answer comes.
func (l *Limiter) probingLocked(now time.Time) bool {
	return l.probe != 0 && l.endedUnmeasuredLocked(now)
}

// endedUnmeasuredLocked reports whether the window pi knows of has ended while its length
// is still unknown: the next request goes alone, as the probe.
func (l *Limiter) endedUnmeasuredLocked(now time.Time) bool {
	return l.period == 0 && !l.win.reset.IsZero() && !l.win.reset.After(now)
}

func (l *Limiter) letGoLocked(now time.Time, longPoll bool) *permit {
	l.seq++
	l.sent[l.seq] = struct{}{}
	if !longPoll {
		l.inflight++
	}
	l.last = now
	if l.probe == 0 && l.endedUnmeasuredLocked(now) {
		l.probe = l.seq
	}
	l.stats.Requests++
	return &permit{l: l, seq: l.seq, longPoll: longPoll}
}

// done tells the limiter the answer: its status (0: none came) and headers.
func (p *permit) done(status int, h http.Header) {
	l := p.l
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.sent, p.seq)
	if p.seq == l.probe {
		l.probe = 0
	}
	if !p.longPoll {
		l.inflight--
	}
	now := l.clk.Now()
	if w, ok := parseRateHeaders(h, now); ok {
		w.after = p.seq
		l.observeLocked(w, now)
	}
	switch {
	case status == http.StatusTooManyRequests:
		l.throttledLocked(p.seq, h, now)
	case status > 0 && status < 500:
		l.conc = min(l.conc+1/l.conc, maxConcurrency)
	}
	l.stats.Concurrency = int(l.conc)
	close(l.changed)
	l.changed = make(chan struct{})
}

// observeLocked takes a window an answer told of: a later reset is a new window (and the
// distance between the two resets its length); in the same window the answer to the
// latest request wins (a sliding window's budget grows as it goes); an earlier window is
// stale. A new window whose budget starts below half the limit carries the last one's
// count: it refills as it goes.
func (l *Limiter) observeLocked(w rateWindow, now time.Time) {
	cur := &l.win
	switch {
	case w.reset.After(cur.reset):
		if d := w.reset.Sub(cur.reset); !cur.reset.IsZero() && d <= paceHorizon && (l.period == 0 || d < l.period) {
			l.period = d
		}
		if !cur.reset.IsZero() && w.remaining*2 < w.limit {
			l.refills = true
		}
		*cur = w
	case w.reset.Equal(cur.reset) && w.after > cur.after:
		cur.remaining, cur.after = w.remaining, w.after
	}
}

// throttledLocked is a 429: the cap halves (once per congestion), nothing goes before its
// Retry-After (or the window's reset, or a second), and the window's budget is spent.
func (l *Limiter) throttledLocked(seq uint64, h http.Header, now time.Time) {
	l.stats.Throttled++
	if seq > l.decreasedAt {
		l.conc = max(l.conc/2, 1)
		l.decreasedAt = l.seq
		l.stats.MinConcurrency = min(l.stats.MinConcurrency, int(l.conc))
	}
	wait := backoff.RetryAfter(h.Get("Retry-After"), now, maxPace, time.Time{})
	if wait == 0 {
		wait = time.Second
		if r := l.win.reset; r.After(now) {
			wait = min(r.Sub(now), maxPace)
		}
	}
	l.notBefore = later(l.notBefore, now.Add(wait+resetSlack))
	if l.win.reset.After(now) {
		l.win.remaining, l.win.after = 0, l.seq
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// parseRateHeaders reads X-RateLimit-Remaining and X-RateLimit-Reset (unix seconds, the
// end of the window) and X-RateLimit-Limit (optional: the Pi server sends "" when its
// limiter says nothing). A value that is not a plain number in range, a reset in the past
// or more than a month ahead is ignored: the window is then unknown, not wrong.
func parseRateHeaders(h http.Header, now time.Time) (rateWindow, bool) {
	rem, ok1 := headerCount(h, "X-RateLimit-Remaining")
	reset, ok2 := headerCount(h, "X-RateLimit-Reset")
	if !ok1 || !ok2 {
		return rateWindow{}, false
	}
	at := time.Unix(reset, 0)
	if !at.After(now) || at.Sub(now) > maxResetAhead {
		return rateWindow{}, false
	}
	limit, ok := headerCount(h, "X-RateLimit-Limit")
	if !ok || limit == 0 {
		limit = rem
	}
	return rateWindow{limit: limit, remaining: min(rem, limit), reset: at}, true
}

// headerCount is a header that is a decimal number from 0 to maxRateValue.
func headerCount(h http.Header, name string) (int64, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" || len(v) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= maxRateValue
}

// Transport is next with every request to the limiter's origin paced (an image the API
// serves itself, such as the sandbox's); requests elsewhere pass as they are.
func (l *Limiter) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &pacedTransport{l: l, next: next}
}

type pacedTransport struct {
	l    *Limiter
	next http.RoundTripper
}

func (t *pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if originOf(req.URL.String()) != t.l.origin {
		return t.next.RoundTrip(req)
	}
	p, err := t.l.acquire(req.Context(), false)
	if err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		p.done(0, nil)
		return nil, err
	}
	p.done(resp.StatusCode, resp.Header)
	return resp, nil
}

// originOf is raw's scheme://host[:port], lower case ("" when raw is not a URL).
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// Limiters holds one Limiter per API origin of a process, so every client of an origin
// (the runs of a batch, a run's jobs and polls, its downloads) shares one. The zero value
// is ready; Clock times their waits (nil: the wall clock).
type Limiters struct {
	Clock clock.Clock
	mu    sync.Mutex
	m     map[string]*Limiter
}

// For is the limiter of the API at baseURL.
func (ls *Limiters) For(baseURL string) *Limiter {
	o := originOf(baseURL)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.m == nil {
		ls.m = map[string]*Limiter{}
	}
	l, ok := ls.m[o]
	if !ok {
		l = NewLimiter(o, ls.Clock)
		ls.m[o] = l
	}
	return l
}
