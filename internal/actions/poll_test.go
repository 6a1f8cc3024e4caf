package actions

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/clock"
)

// clockJobs is a Pi API stand-in whose job answers status until the fake clock has run
// for done, holding each long-poll for hold first (a server that ignores the long-poll
// holds nothing).
type clockJobs struct {
	clk    *clock.Fake
	start  time.Time
	status catalog.JobStatus
	hold   time.Duration
	done   time.Duration
	polls  atomic.Int32
}

func (c *clockJobs) CreateJob(ctx context.Context, action string, input map[string]any, key string) (string, error) {
	return "j-1", nil
}

func (c *clockJobs) WaitJob(ctx context.Context, id string) (*Job, error) {
	if c.polls.Add(1) > 100000 {
		return &Job{ID: id, Status: catalog.JobCompleted}, nil // a guard: the test fails on the count
	}
	if c.hold > 0 {
		<-c.clk.After(c.hold)
	}
	if c.clk.Now().Sub(c.start) >= c.done {
		return &Job{ID: id, Type: "campaign_ad_generation", Status: catalog.JobCompleted, Payload: map[string]any{"image_url": "https://x/i.png"}}, nil
	}
	return &Job{ID: id, Status: c.status}, nil
}

// A server that answers a job's long-poll at once with "processing" is polled at most once
// per jobPollFloor, not in a tight loop; one that holds the long-poll is asked again at once.
func TestJobPollFloor(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		hold     time.Duration
		maxPolls int32
	}{
		{"answers at once", 0, int32(time.Minute/jobPollFloor) + 1},
		{"holds the long-poll", 20 * time.Second, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewAuto(t0)
			api := &clockJobs{clk: clk, start: t0, status: catalog.JobProcessing, hold: tt.hold, done: time.Minute}
			p := &Pi{API: api, Clock: clk}
			got, err := p.Execute(context.Background(), req("campaigns.generate", map[string]any{"prompt": "x"}))
			if err != nil || got["image_url"] != "https://x/i.png" {
				t.Fatalf("got %v, %v", got, err)
			}
			if n := api.polls.Load(); n > tt.maxPolls {
				t.Errorf("%d polls in a minute, want at most %d", n, tt.maxPolls)
			}
			if tt.hold > 0 {
				for _, w := range clk.Waits() {
					if w != tt.hold {
						t.Errorf("waited %s besides the held long-polls: %v", w, clk.Waits())
						break
					}
				}
			}
		})
	}
}

// A job whose status pi does not know fails its step at once, naming the status, instead
// of being polled until the deadline.
func TestUnknownJobStatusFails(t *testing.T) {
	clk := clock.NewAuto(time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC))
	api := &clockJobs{clk: clk, start: clk.Now(), status: "weird", done: time.Hour}
	p := &Pi{API: api, Clock: clk}
	_, err := p.Execute(context.Background(), req("campaigns.generate", map[string]any{"prompt": "x"}))
	if err == nil || !strings.Contains(err.Error(), `"weird"`) || transient(err) {
		t.Fatalf("err %v, want a permanent failure naming the status", err)
	}
	if n := api.polls.Load(); n != 1 {
		t.Errorf("%d polls, want 1", n)
	}
}
