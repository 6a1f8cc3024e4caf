package piapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/clock"
)

const jobAnswer = `{"id":"req_pi_x","object":"job","status":"completed","data":{"id":"0f0e0d0c-0b0a-4999-8888-777766665555","status":"completed"}}`

// throttle429 answers 429 with Retry-After: 1 (the Pi server's body: src/lib/auth.ts and
// src/lib/api-response.ts of ngandimoun/pi-api) to every third request and a job to the
// others, and records the fake time each request arrived at and of each 429.
type throttle429 struct {
	clk      *clock.Fake
	mu       sync.Mutex
	n        int
	arrivals []time.Time
	limited  []time.Time
}

func (s *throttle429) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.n++
	now := s.clk.Now()
	s.arrivals = append(s.arrivals, now)
	third := s.n%3 == 0
	if third {
		s.limited = append(s.limited, now)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if third {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"error":{"type":"rate_limit_error","code":"unkey_rate_limited","message":"Rate limit exceeded for this API key.","request_id":"req_pi_x"}}`))
		return
	}
	w.Write([]byte(jobAnswer))
}

// The limiter under a server that answers 429 to every third request: every request
// ends up answered, the concurrency cap comes down, and no request reaches the server
// inside a 429's Retry-After. Time is a manual fake clock that moves only while every
// worker waits on it, so a request that arrives later than a 429 was let go after the
// limiter knew of it.
func TestLimiterEveryThirdRequest429(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_760_000_000, 0))
	srv := &throttle429{clk: clk}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	lim := NewLimiter(ts.URL, clk)
	c, err := New(Config{BaseURL: ts.URL, APIKey: testKey, Clock: clk, Limiter: lim, MaxAttempts: 20})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 12, 5
	finished := make(chan error)
	for range workers {
		go func() {
			var err error
			for range each {
				if _, err = c.GetJob(context.Background(), "0f0e0d0c-0b0a-4999-8888-777766665555", false, 0, ""); err != nil {
					break
				}
			}
			finished <- err
		}()
	}
	driveUntilDone(t, clk, workers, finished)

	st := lim.Stats()
	if st.MinConcurrency >= startConcurrency {
		t.Errorf("the concurrency cap never came down: %+v", st)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if ok := workers * each; srv.n-len(srv.limited) != ok {
		t.Errorf("%d requests answered, %d of them 429: want %d answered with a job", srv.n, len(srv.limited), ok)
	}
	for _, l := range srv.limited {
		for _, a := range srv.arrivals {
			if a.After(l) && a.Before(l.Add(time.Second)) {
				t.Fatalf("a request arrived at +%v, inside the Retry-After of the 429 at +%v", a.Sub(clk.Now()), l.Sub(clk.Now()))
			}
		}
	}
}

// driveUntilDone moves clk by 50 ms whenever every worker still running waits on it,
// until all have finished; a worker's error fails the test.
func driveUntilDone(t *testing.T, clk *clock.Fake, live int, finished <-chan error) {
	t.Helper()
	blocked := make(chan error, 1)
	for live > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		go func(n int) { blocked <- clk.BlockUntil(ctx, n) }(live)
		select {
		case err := <-finished:
			if err != nil {
				t.Errorf("a request failed: %v", err)
			}
			live--
			cancel()
			<-blocked
		case err := <-blocked:
			cancel()
			if err == nil {
				clk.Advance(50 * time.Millisecond)
			}
		}
	}
}

// A 429's Retry-After holds every other request: one that starts meanwhile waits on the
// clock, goes neither a second early nor at all before the pause ends.
func TestLimiterPauseHoldsOtherRequests(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_760_000_000, 0))
	var mu sync.Mutex
	var arrivals []time.Time
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, clk.Now())
		first := len(arrivals) == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte(jobAnswer))
	}))
	defer ts.Close()
	lim := NewLimiter(ts.URL, clk)
	// One try: the 429 comes back as the answer, and the pause stays.
	var debug bytes.Buffer
	c, err := New(Config{BaseURL: ts.URL, APIKey: testKey, Clock: clk, Limiter: lim, MaxAttempts: 1, Debug: &debug})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.GetJob(ctx, "j", false, 0, ""); err == nil {
		t.Fatal("the 429 was not an error")
	}
	got := make(chan error, 1)
	go func() {
		_, err := c.GetJob(ctx, "j", false, 0, "")
		got <- err
	}()
	blocked := make(chan struct{})
	go func() {
		_ = clk.BlockUntil(ctx, 1) // ends when the request waits (or the test ends)
		close(blocked)
	}()
	select {
	case err := <-got:
		t.Fatalf("a request went during the pause (%v)", err)
	case <-blocked:
	}
	// The pause is the Retry-After and resetSlack (at a reset's instant a sliding window
	// still counts all of the last one).
	clk.Advance(2*time.Second + resetSlack - time.Millisecond)
	if n := clk.Waiters(); n != 1 {
		t.Fatalf("the request stopped waiting a millisecond before the pause ended (%d waiters)", n)
	}
	clk.Advance(time.Millisecond)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if want := "GET /api/v1/jobs/j held 2.05s by the rate limit (a 429's Retry-After)"; !strings.Contains(debug.String(), want) {
		t.Errorf("--debug says:\n%s\nwant a line with %q", debug.String(), want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != 2 || arrivals[1].Sub(arrivals[0]) != 2*time.Second+resetSlack {
		t.Errorf("arrivals %v: want the second 2.05s after the 429", arrivals)
	}
}

// When X-RateLimit-Remaining is low (at most a tenth of the limit), the window's last
// requests are spread evenly until X-RateLimit-Reset (unix seconds, as the Pi server sends
// it: src/lib/auth.ts of ngandimoun/pi-api); above that they go at once.
func TestLimiterSpacesTheWindowsLastRequests(t *testing.T) {
	start := time.Unix(1_760_000_000, 0)
	clk := clock.NewFake(start)
	reset := start.Add(12 * time.Second)
	var mu sync.Mutex
	var arrivals []time.Duration
	remaining := 6
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, clk.Now().Sub(start))
		remaining--
		w.Header().Set("X-RateLimit-Limit", "40")
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		mu.Unlock()
		w.Write([]byte(jobAnswer))
	}))
	defer ts.Close()
	c, err := New(Config{BaseURL: ts.URL, APIKey: testKey, Clock: clk, Limiter: NewLimiter(ts.URL, clk)})
	if err != nil {
		t.Fatal(err)
	}
	finished := make(chan error)
	go func() {
		var err error
		for range 6 {
			if _, err = c.GetJob(context.Background(), "j", false, 0, ""); err != nil {
				break
			}
		}
		finished <- err
	}()
	driveUntilDone(t, clk, 1, finished)
	// Remaining 5 after the first: at once; 4 (= 40/10) after the second: the 4 left
	// go 12 s/4 apart, then (12-3)/3, (12-6)/2, (12-9)/1: every 3 s until the reset.
	want := []time.Duration{0, 0, 3 * time.Second, 6 * time.Second, 9 * time.Second, 12 * time.Second}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(arrivals, want) {
		t.Errorf("arrivals at %v, want %v", arrivals, want)
	}
}

// A window that carries the last one's count (a sliding window, as Unkey's behind the Pi
// server: a new window whose budget starts below half the limit) refills as it goes: at
// X-RateLimit-Remaining 0 the next request waits the limit's pace (the window's length,
// the distance between two resets, over the limit, plus 3 %), not the reset; a window
// that does not is waited out until its reset. When the window ended with no answer from
// the next yet, requests go at the limit's pace.
func TestLimiterPacesASlidingWindow(t *testing.T) {
	start := time.Unix(1_760_000_000, 0)
	clk := clock.NewFake(start)
	type answer struct {
		remaining int
		reset     time.Duration
	}
	script := []answer{{5, 10 * time.Second}, {0, 10 * time.Second}, {1, 20 * time.Second}, {0, 20 * time.Second}, {0, 20 * time.Second}}
	var mu sync.Mutex
	var arrivals []time.Duration
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := script[len(arrivals)]
		arrivals = append(arrivals, clk.Now().Sub(start))
		mu.Unlock()
		w.Header().Set("X-RateLimit-Limit", "10")
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(a.remaining))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(start.Add(a.reset).Unix(), 10))
		w.Write([]byte(jobAnswer))
	}))
	defer ts.Close()
	c, err := New(Config{BaseURL: ts.URL, APIKey: testKey, Clock: clk, Limiter: NewLimiter(ts.URL, clk)})
	if err != nil {
		t.Fatal(err)
	}
	finished := make(chan error)
	go func() {
		var err error
		for range script {
			if _, err = c.GetJob(context.Background(), "j", false, 0, ""); err != nil {
				break
			}
		}
		finished <- err
	}()
	driveUntilDone(t, clk, 1, finished)
	// 5 left: at once. 0 left in a window not known to refill: at its reset (10 s) and
	// resetSlack; the limit's pace is then 10 s/10 + 3 % = 1.03 s. The next window starts
	// at 1 of 10: it refills, so its last request and the one at 0 go 1.03 s apart (the
	// fake clock moves in 50 ms steps).
	want := []time.Duration{0, 0, 10*time.Second + resetSlack, 11100 * time.Millisecond, 12150 * time.Millisecond}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(arrivals, want) {
		t.Errorf("arrivals at %v, want %v", arrivals, want)
	}
}

// The rate-limit headers are believed only when they are plain numbers in range, with a
// reset ahead (by at most a month): anything else leaves the window unknown, never a
// negative, overflowing or endless wait.
func TestParseRateHeadersHostile(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	in := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	for _, tt := range []struct {
		name                    string
		limit, remaining, reset string
		ok                      bool
		wantLimit, wantRem      int64
	}{
		{"the server's form", "100", "42", in(time.Minute), true, 100, 42},
		{"no limit (the server sends \"\")", "", "42", in(time.Minute), true, 42, 42},
		{"padded", " 100 ", " 42", in(time.Minute) + " ", true, 100, 42},
		{"remaining above the limit", "10", "50", in(time.Minute), true, 10, 10},
		{"negative remaining", "100", "-1", in(time.Minute), false, 0, 0},
		{"signed", "100", "+5", in(time.Minute), false, 0, 0},
		{"negative reset", "100", "5", "-1760000060", false, 0, 0},
		{"reset in the past", "100", "5", in(-time.Second), false, 0, 0},
		{"reset now", "100", "5", in(0), false, 0, 0},
		{"reset as seconds until (not the server's)", "100", "5", "60", false, 0, 0},
		{"reset in milliseconds", "100", "5", strconv.FormatInt(now.Add(time.Minute).UnixMilli(), 10), false, 0, 0},
		// The server adds Unkey's reset to now (src/lib/auth.ts): were Unkey's an instant,
		// not a duration, the header would read about twice the epoch.
		{"reset as now plus an instant", "100", "5", strconv.FormatInt(2*now.Unix()+60, 10), false, 0, 0},
		{"reset past a month", "100", "5", in(32 * 24 * time.Hour), false, 0, 0},
		{"a monthly quota's reset", "1000", "5", in(29 * 24 * time.Hour), true, 1000, 5},
		{"huge remaining", "100", "99999999999999999999999", in(time.Minute), false, 0, 0},
		{"huge reset", "100", "5", "99999999999999999999", false, 0, 0},
		{"non-numeric", "100", "many", in(time.Minute), false, 0, 0},
		{"a float", "100", "4.5", in(time.Minute), false, 0, 0},
		{"an HTTP date as reset", "100", "5", now.Add(time.Minute).UTC().Format(http.TimeFormat), false, 0, 0},
		{"empty", "", "", "", false, 0, 0},
		{"huge limit is ignored, not trusted", "1099511627777", "5", in(time.Minute), true, 5, 5},
		{"unicode digits", "100", "٥", in(time.Minute), false, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("X-RateLimit-Limit", tt.limit)
			h.Set("X-RateLimit-Remaining", tt.remaining)
			h.Set("X-RateLimit-Reset", tt.reset)
			w, ok := parseRateHeaders(h, now)
			if ok != tt.ok || (ok && (w.limit != tt.wantLimit || w.remaining != tt.wantRem)) {
				t.Errorf("got %+v %v, want limit %d remaining %d %v", w, ok, tt.wantLimit, tt.wantRem, tt.ok)
			}
		})
	}
}

// Hostile headers on real answers never make a request wait: the limiter keeps going.
func TestLimiterIgnoresHostileHeaders(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_760_000_000, 0))
	values := []string{"-5", "0x10", "1e9", "99999999999999999999", "", "NaN"}
	var mu sync.Mutex
	n := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		v := values[n%len(values)]
		n++
		mu.Unlock()
		w.Header().Set("X-RateLimit-Limit", v)
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", v)
		w.Write([]byte(jobAnswer))
	}))
	defer ts.Close()
	c, err := New(Config{BaseURL: ts.URL, APIKey: testKey, Clock: clk, Limiter: NewLimiter(ts.URL, clk)})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 * len(values) {
		if _, err := c.GetJob(context.Background(), "j", false, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	if w := clk.Waits(); len(w) != 0 {
		t.Errorf("the limiter waited %v on hostile headers", w)
	}
}

// A monthly quota (the Pi server's primary limit may be one) running low is not spread
// over the days until its reset: requests go at once and the server's 429 decides.
func TestLimiterDoesNotSpreadAQuota(t *testing.T) {
	start := time.Unix(1_760_000_000, 0)
	clk := clock.NewFake(start)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "1000")
		w.Header().Set("X-RateLimit-Remaining", "3")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(start.Add(20*24*time.Hour).Unix(), 10))
		w.Write([]byte(jobAnswer))
	}))
	defer ts.Close()
	c, err := New(Config{BaseURL: ts.URL, APIKey: testKey, Clock: clk, Limiter: NewLimiter(ts.URL, clk)})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.GetJob(context.Background(), "j", false, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	if w := clk.Waits(); len(w) != 0 {
		t.Errorf("the limiter waited %v for a quota that resets in 20 days", w)
	}
}

// A wait that would end past the caller's deadline is not begun: the request is not sent
// and the error says when the rate limit would have let it go.
func TestLimiterWaitPastDeadline(t *testing.T) {
	start := time.Unix(1_760_000_000, 0)
	clk := clock.NewFake(start)
	n := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("X-RateLimit-Limit", "100")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(start.Add(30*time.Second).Unix(), 10))
		w.Write([]byte(jobAnswer))
	}))
	defer ts.Close()
	c, err := New(Config{BaseURL: ts.URL, APIKey: testKey, Clock: clk, Limiter: NewLimiter(ts.URL, clk)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetJob(context.Background(), "j", false, 0, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.GetJob(ctx, "j", false, 0, "")
	var ae *Error
	if !errors.As(err, &ae) || !ae.paced || !strings.Contains(err.Error(), "X-RateLimit-Remaining 0") {
		t.Fatalf("err = %v, want the rate limit's wait past the deadline", err)
	}
	if n != 1 {
		t.Errorf("%d requests sent, want 1", n)
	}
	if w := clk.Waits(); len(w) != 0 {
		t.Errorf("waited %v", w)
	}
}

// One limiter per origin: the same scheme, host and port share it, whatever the path or
// the case of the host.
func TestLimitersPerOrigin(t *testing.T) {
	var ls Limiters
	a := ls.For("https://API.pi.example/v1")
	if ls.For("https://api.pi.example") != a {
		t.Error("the same origin got two limiters")
	}
	if ls.For("https://api.pi.example:8443") == a || ls.For("http://api.pi.example") == a {
		t.Error("another origin shares a limiter")
	}
}

// Downloads through Transport are paced when they go to the API's origin only.
func TestLimiterTransportPacesOnlyItsOrigin(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_760_000_000, 0))
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		w.Header().Set("Retry-After", "5")
	}))
	defer api.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	lim := NewLimiter(api.URL, clk)
	hc := &http.Client{Transport: lim.Transport(nil)}
	for _, u := range []string{api.URL + "/files/a.png", other.URL + "/b.png", other.URL + "/c.png"} {
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if st := lim.Stats(); st.Requests != 1 || st.Throttled != 1 {
		t.Errorf("stats %+v: want only the API's request counted", st)
	}
}
