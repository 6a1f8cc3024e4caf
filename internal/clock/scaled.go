package clock

import "time"

// Scaled is a clock that runs Factor times faster than the wall clock from the moment it
// was made: a benchmark scales a minute of the simulated server's rate window (and of the
// client that paces itself by it) to a second of real time with the same arithmetic. It
// reads Start plus Factor times the real time elapsed since; After(d) fires after d/Factor
// of real time.
type Scaled struct {
	Factor float64
	// Start is the clock's reading when it was made, real the wall clock's (monotonic).
	Start, real time.Time
}

// NewScaled returns a clock that starts at the wall clock's now and runs factor times as
// fast (a factor below 1 is taken as 1).
func NewScaled(factor float64) *Scaled {
	now := time.Now()
	return &Scaled{Factor: max(factor, 1), Start: now, real: now}
}

// Now is Start plus Factor times the real time since the clock was made.
func (c *Scaled) Now() time.Time {
	return c.Start.Add(time.Duration(float64(time.Since(c.real)) * c.Factor))
}

// After fires after d of this clock's time (d/Factor of real time).
func (c *Scaled) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.Now()
		return ch
	}
	time.AfterFunc(c.Real(d), func() { ch <- c.Now() })
	return ch
}

// Real is how long d of this clock's time takes on the wall clock.
func (c *Scaled) Real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.Factor)
}
