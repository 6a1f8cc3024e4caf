package clock

import (
	"context"
	"slices"
	"testing"
	"time"
)

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFake(t *testing.T) {
	c := NewFake(start)
	a, b := c.After(2*time.Second), c.After(time.Second)
	if err := c.BlockUntil(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	select {
	case got := <-b:
		if !got.Equal(start.Add(time.Second)) {
			t.Errorf("b fired at %v", got)
		}
	default:
		t.Fatal("b did not fire after 1s")
	}
	select {
	case <-a:
		t.Fatal("a fired early")
	default:
	}
	c.Advance(time.Second)
	<-a
	if c.Waiters() != 0 || !c.Now().Equal(start.Add(2*time.Second)) {
		t.Errorf("waiters %d now %v", c.Waiters(), c.Now())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.BlockUntil(ctx, 1); err == nil {
		t.Errorf("BlockUntil on a cancelled context returned nil")
	}
}

// An automatic fake moves by each wait at once and lists the waits.
func TestAuto(t *testing.T) {
	c := NewAuto(start)
	for _, d := range []time.Duration{time.Second, 0, 3 * time.Second} {
		if err := Sleep(context.Background(), c, d); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Now(); !got.Equal(start.Add(4 * time.Second)) {
		t.Errorf("now %v, want start+4s", got)
	}
	// A wait of 0 is no wait: Sleep does not ask the clock.
	if got, want := c.Waits(), []time.Duration{time.Second, 3 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

// Sleep ends with the context, on every clock, and does not wait on an ended one.
func TestSleepEndsWithContext(t *testing.T) {
	for name, c := range map[string]Clock{"real": nil, "manual": NewFake(start), "auto": NewAuto(start)} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := Sleep(ctx, c, time.Hour); err != context.Canceled {
				t.Errorf("Sleep on an ended context = %v, want context.Canceled", err)
			}
		})
	}
	c := NewFake(start)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Sleep(ctx, c, time.Hour) }()
	if err := c.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Sleep cancelled while waiting = %v, want context.Canceled", err)
	}
	if err := Sleep(context.Background(), nil, time.Millisecond); err != nil {
		t.Errorf("a real 1ms Sleep = %v", err)
	}
}

func TestScaled(t *testing.T) {
	c := NewScaled(60)
	if got := c.Real(time.Minute); got != time.Second {
		t.Errorf("Real(1m) = %v, want 1s", got)
	}
	before := c.Now()
	at := <-c.After(3 * time.Second)
	if at.Sub(before) < 3*time.Second {
		t.Errorf("After(3s) fired at +%v of the clock's time", at.Sub(before))
	}
	if NewScaled(0.5).Factor != 1 {
		t.Errorf("a factor below 1 is not 1")
	}
}
