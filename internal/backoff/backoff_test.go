package backoff

import (
	"net/http"
	"testing"
	"time"
)

func TestWaitSequence(t *testing.T) {
	tests := []struct {
		name       string
		base, cap  time.Duration
		u          float64
		retryAfter time.Duration
		want       []time.Duration // after attempts 1, 2, 3, ...
	}{
		{"full ceiling", time.Second, time.Minute, 1, 0, []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}},
		{"half jitter", time.Second, time.Minute, 0.5, 0, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}},
		{"capped", time.Second, 3 * time.Second, 1, 0, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}},
		{"zero jitter", time.Second, time.Minute, 0, 0, []time.Duration{0, 0, 0}},
		{"retry-after wins", time.Second, time.Minute, 1, 10 * time.Second, []time.Duration{10 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second, 16 * time.Second}},
		{"retry-after beyond cap", time.Second, 2 * time.Second, 1, 90 * time.Second, []time.Duration{90 * time.Second, 90 * time.Second}},
		{"huge attempt count does not overflow", time.Hour, time.Minute, 1, 0, []time.Duration{time.Minute, time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Base: tt.base, Max: tt.cap}
			for i, want := range tt.want {
				if got := p.Wait(i+1, tt.u, tt.retryAfter); got != want {
					t.Errorf("after attempt %d: %v, want %v", i+1, got, want)
				}
			}
		})
	}
	if got := Step.Delay(1000, 1); got != StepMax {
		t.Errorf("after attempt 1000: %v, want the cap", got)
	}
	floor := Policy{Base: time.Second, Max: time.Minute, Min: 100 * time.Millisecond}
	for u, want := range map[float64]time.Duration{0: 100 * time.Millisecond, 0.05: 100 * time.Millisecond, 0.5: 500 * time.Millisecond} {
		if got := floor.Delay(1, u); got != want {
			t.Errorf("with a 100ms floor, Delay(1, %v) = %v, want %v", u, got, want)
		}
	}
}

// Both forms RFC 9110 allows, measured from the given now; capped, and never past the
// deadline.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		in       string
		deadline time.Time
		want     time.Duration
	}{
		{"", time.Time{}, 0},
		{"7", time.Time{}, 7 * time.Second},
		{" 7 ", time.Time{}, 7 * time.Second},
		{"-3", time.Time{}, 0},
		{"soon", time.Time{}, 0},
		{date(time.Hour), time.Time{}, MaxRetryAfter}, // an hour away: capped
		{date(30 * time.Second), time.Time{}, 30 * time.Second},
		{date(-time.Hour), time.Time{}, 0},
		{"99999", time.Time{}, MaxRetryAfter},
		{"99999999999999999999999", time.Time{}, MaxRetryAfter},
		{"Fri, 01 Jan 2100 00:00:00 GMT", time.Time{}, MaxRetryAfter},
		{"30", now.Add(5 * time.Second), 5 * time.Second},
		{"30", now.Add(-time.Second), 0},
		{"3", now.Add(5 * time.Second), 3 * time.Second},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.in, now, MaxRetryAfter, tt.deadline); got != tt.want {
			t.Errorf("RetryAfter(%q, deadline %v) = %v, want %v", tt.in, tt.deadline, got, tt.want)
		}
	}
	if got := RetryAfter("45", now, DownloadRetryAfter, time.Time{}); got != DownloadRetryAfter {
		t.Errorf("RetryAfter(45) capped at %v = %v", DownloadRetryAfter, got)
	}
}
