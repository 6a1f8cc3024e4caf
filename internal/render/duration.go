package render

import (
	"fmt"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// Duration is the one way pi writes a duration. precise durations were measured here (a
// local run, to the millisecond): 365ms, 12.3s, 1m05s, 2h03m. The others come from the
// Pi API's whole-second times and say so: <1s, ~2s, ~1m05s, ~2h03m.
func Duration(d time.Duration, precise bool) string {
	d = max(d, 0)
	if !precise {
		if d < time.Second {
			return "<1s"
		}
		return "~" + clockText(d.Round(time.Second))
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", float64(d.Truncate(100*time.Millisecond))/float64(time.Second))
	}
	return clockText(d)
}

// elapsedText is how long a run has been going, in a live header: whole seconds, which a
// redraw every 100 ms does not make flicker (12s, 1m05s), rounded as a remote step's
// DURATION is (~4s), so the run never reads shorter than a step of it.
func elapsedText(d time.Duration) string { return clockText(max(d, 0).Round(time.Second)) }

// clockText writes whole seconds: 12s, 1m05s, 2h03m.
func clockText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		d = d.Truncate(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	d = d.Truncate(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// subSecond reports a time that carries more than whole seconds: measured here, not read
// from the API.
func subSecond(t time.Time) bool { return !t.IsZero() && t.Nanosecond() != 0 }

// stepDurationText is a step's DURATION cell: precise when its times were measured here.
func stepDurationText(s *run.Step, now time.Time) string {
	precise := subSecond(s.StartedAt) || subSecond(s.CompletedAt)
	if precise && !s.CompletedAt.IsZero() {
		// to the millisecond the store keeps, so the live table and a later runs get agree
		return Duration(max(s.CompletedAt.Truncate(time.Millisecond).Sub(s.StartedAt.Truncate(time.Millisecond)), 0), true)
	}
	return Duration(s.Duration(now), precise)
}

// RunDuration is how long a run took, or has taken so far, and whether that is precise.
// It is the one definition pi run's summary, pi runs get and pi runs list share. A local
// run that ended is measured by its steps, first start to last end, to the millisecond
// (what the store keeps of the engine's times, so the summary and the records agree to the
// digit); a remote run from its creation to its last change on the server (whole seconds);
// a run still going, from its creation to now. A resumed run's Idle (the time between the
// pi that left it and the one that resumed it, which the store records) is not counted:
// its duration is the sum of the spans pi worked on it.
func RunDuration(r *run.Run, now time.Time) (time.Duration, bool) {
	first, last, precise := stepSpan(r, now)
	switch {
	case precise && ended(r) && !first.IsZero():
		return max(last.Truncate(time.Millisecond).Sub(first.Truncate(time.Millisecond))-r.Idle, 0), true
	case !r.CreatedAt.IsZero():
		end := now
		if ended(r) && !r.UpdatedAt.IsZero() {
			end = r.UpdatedAt
		}
		return max(end.Sub(r.CreatedAt)-r.Idle, 0), subSecond(r.CreatedAt) || subSecond(r.UpdatedAt)
	case first.IsZero() || last.Before(first):
		return 0, precise
	}
	return max(last.Sub(first)-r.Idle, 0), precise
}

// stepSpan is the first start and the last end of r's steps (now for a running one), and
// whether those times were measured here.
func stepSpan(r *run.Run, now time.Time) (first, last time.Time, precise bool) {
	for i := range r.Steps {
		s := &r.Steps[i]
		precise = precise || subSecond(s.StartedAt) || subSecond(s.CompletedAt)
		if !s.StartedAt.IsZero() && (first.IsZero() || s.StartedAt.Before(first)) {
			first = s.StartedAt
		}
		end := s.CompletedAt
		if end.IsZero() && s.Status == run.StepProcessing {
			end = now
		}
		if end.After(last) {
			last = end
		}
	}
	return first, last, precise
}

// RunDurationText is RunDuration written with Duration.
func RunDurationText(r *run.Run, now time.Time) string {
	d, precise := RunDuration(r, now)
	return Duration(d, precise)
}
