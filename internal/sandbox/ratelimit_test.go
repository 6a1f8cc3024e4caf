package sandbox

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/clock"
)

// The sandbox's limiter is the Pi server's (src/lib/auth.ts and src/lib/api-response.ts of
// ngandimoun/pi-api), counted as Unkey counts (go/internal/services/ratelimit/
// sliding_window.go, sequence.go of unkeyed/unkey): every authenticated answer carries
// X-RateLimit-Limit, -Remaining and -Reset (the current window's end in unix seconds);
// past the limit a 429 unkey_rate_limited of type rate_limit_error, "Rate limit exceeded
// for this API key.", with Retry-After the seconds left until Reset. Windows are aligned
// to the epoch; the previous window's count weighs by the share of the current one still
// to come; a refused request does not count.
func TestRateLimitWindows(t *testing.T) {
	w1 := time.Unix(1_760_000_040, 0) // a whole minute since the epoch
	clk := clock.NewFake(w1.Add(30*time.Second + 500*time.Millisecond))
	_, c := newTestServer(t, Options{RateLimit: Rate{N: 3, Per: time.Minute}, Clock: clk})
	get := func() answer { return c.do("GET", "/api/v1/jobs/f027a242-df39-44cb-943a-c9d220ddaebd", nil) }
	resetOf := func(start time.Time) string { return strconv.FormatInt(start.Add(time.Minute).Unix(), 10) }
	check := func(a answer, status int, remaining, reset, retryAfter string) {
		t.Helper()
		if a.status != status || a.header.Get("X-RateLimit-Limit") != "3" || a.header.Get("X-RateLimit-Remaining") != remaining ||
			a.header.Get("X-RateLimit-Reset") != reset || a.header.Get("Retry-After") != retryAfter {
			t.Fatalf("got %d, Limit %q Remaining %q Reset %q Retry-After %q; want %d, 3 %s %s %q", a.status, a.header.Get("X-RateLimit-Limit"),
				a.header.Get("X-RateLimit-Remaining"), a.header.Get("X-RateLimit-Reset"), a.header.Get("Retry-After"), status, remaining, reset, retryAfter)
		}
	}
	for _, rem := range []string{"2", "1", "0"} {
		check(get(), http.StatusNotFound, rem, resetOf(w1), "") // no such job: the limit counts it all the same
	}
	for range 2 {
		a := get()
		// 29.5 s left: the server counts from the whole second now is in.
		check(a, http.StatusTooManyRequests, "0", resetOf(w1), "30")
		if a.errCode(t) != "unkey_rate_limited" {
			t.Fatalf("code %s", a.raw)
		}
		e := a.body["error"].(map[string]any)
		if e["type"] != errRateLimit || e["message"] != "Rate limit exceeded for this API key." || len(e) != 4 {
			t.Errorf("error body %v, want the server's four fields", e)
		}
	}
	// The next window's first instant: the previous window's 3 weigh fully.
	w2 := w1.Add(time.Minute)
	clk.Advance(29*time.Second + 500*time.Millisecond)
	check(get(), http.StatusTooManyRequests, "0", resetOf(w2), "60")
	// A third of the way in, they weigh 2: one more fits.
	clk.Advance(20 * time.Second)
	check(get(), http.StatusNotFound, "0", resetOf(w2), "")
	// Two windows on, nothing weighs.
	clk.Advance(2 * time.Minute)
	check(get(), http.StatusNotFound, "2", resetOf(w2.Add(2*time.Minute)), "")

	// Without a key the server answers before its limiter: no rate-limit headers.
	c.key = ""
	if a := get(); a.status != http.StatusUnauthorized || a.header.Get("X-RateLimit-Remaining") != "" {
		t.Errorf("unauthenticated: %d with X-RateLimit-Remaining %q", a.status, a.header.Get("X-RateLimit-Remaining"))
	}
}

func TestParseRate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Rate
		bad  bool
	}{
		{in: "120/min", want: Rate{120, time.Minute}},
		{in: "5/s", want: Rate{5, time.Second}},
		{in: "1000/h", want: Rate{1000, time.Hour}},
		{in: "20", want: Rate{20, time.Second}},
		{in: "0", want: Rate{0, time.Second}},
		{in: "-3/min", bad: true},
		{in: "3/day", bad: true},
		{in: "x/min", bad: true},
		{in: "", bad: true},
	} {
		got, err := ParseRate(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("ParseRate(%q) = %v, %v", tt.in, got, err)
		}
	}
	if s := (Rate{120, time.Minute}).String(); s != "120/min" {
		t.Errorf("String() = %q", s)
	}
}

// With TimeScale the server's time runs faster: a minute's window ends after a second
// of real time, and a job of 30 s of its time ends after half a second.
func TestTimeScale(t *testing.T) {
	s, err := New(Options{APIKey: testKey, DBPath: ":memory:", TimeScale: 60, Latency: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.opts.Latency != 500*time.Millisecond {
		t.Errorf("a job of 30 s at 60x takes %v of real time, want 500ms", s.opts.Latency)
	}
	if sc, ok := s.opts.Clock.(*clock.Scaled); !ok || sc.Factor != 60 {
		t.Errorf("clock %T, want a 60x clock.Scaled", s.opts.Clock)
	}
}

// StatusCounter, the sandbox's own Logger for the pacing benchmarks, counts every logged
// request and the 429s among them.
func TestStatusCounterCountsTheLog(t *testing.T) {
	counter := &StatusCounter{}
	clk := clock.NewFake(time.Unix(1_760_000_040, 0))
	_, c := newTestServer(t, Options{RateLimit: Rate{N: 2, Per: time.Minute}, Clock: clk, Logger: counter})
	for range 5 {
		c.do("GET", "/api/v1/jobs/f027a242-df39-44cb-943a-c9d220ddaebd", nil)
	}
	if requests, limited := counter.Counts(); requests != 5 || limited != 3 {
		t.Errorf("counted %d requests, %d limited; want 5 and 3", requests, limited)
	}
}
