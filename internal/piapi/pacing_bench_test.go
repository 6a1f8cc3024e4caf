package piapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/sandbox"
)

// Issue 23's pacing benchmark: a batch of 200 single-job rows against the in-process
// sandbox limited to 120 requests a minute, 8 rows at a time, every row a run of one
// campaigns.generate step created and followed as pi run -o json does it (POST /runs,
// then long-polls), all through one client and its origin's limiter. Time is scaled 60x
// (a minute's window passes in a second of real time; jobs take 1 s of the sandbox's
// time) on one clock.Scaled that the sandbox and the client share, so Reset and
// Retry-After mean the same to both; network round trips are not scaled, which is
// harsher than real time. The first window starts with the batch (a whole minute of
// the sandbox's clock).
//
//	go test ./internal/piapi -run '^$' -bench BenchmarkPacedBatch -benchtime 1x
//
// Reports: jobs/min (completed rows per minute of sandbox time, start to end),
// window_share (the rows completed within the whole windows of the batch over the most
// the limit allows in them: 120 requests a minute over the 2 requests a row needs at
// least, one POST and one long-poll; the last, partial window is left out, since a
// fixed window lets its requests go at once and would flatter the figure), req/job,
// and 429_pct (of the requests the server answered).
func BenchmarkPacedBatch(b *testing.B) {
	const rows, parallel, limit = 200, 8, 120
	for range b.N {
		m := pacedBatch(b, rows, parallel, limit)
		b.ReportMetric(m.jobsPerMin, "jobs/min")
		b.ReportMetric(m.windowShare, "window_share")
		b.ReportMetric(float64(m.requests)/float64(m.completed), "req/job")
		b.ReportMetric(100*float64(m.throttled)/float64(m.requests), "429_pct")
	}
}

type batchFigures struct {
	jobsPerMin, windowShare        float64
	completed, requests, throttled int
}

func pacedBatch(b *testing.B, rows, parallel, limit int) batchFigures {
	clk := clock.NewScaled(60)
	clk.Start = clk.Start.Truncate(time.Minute) // the batch starts with a window
	log := &sandbox.StatusCounter{}
	ctx := context.Background()
	inst, err := sandbox.Start(ctx, sandbox.Options{DBPath: ":memory:", Latency: time.Second, TimeScale: 60, Clock: clk,
		RateLimit: sandbox.Rate{N: limit, Per: time.Minute}, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer inst.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: parallel}
	defer tr.CloseIdleConnections() // before the sandbox waits for idle connections
	c, err := piapi.New(piapi.Config{BaseURL: inst.URL, APIKey: inst.APIKey, Clock: clk, HTTPClient: &http.Client{Transport: tr},
		Limiter: piapi.NewLimiter(inst.URL, clk), MaxAttempts: 20})
	if err != nil {
		b.Fatal(err)
	}
	start := clk.Now()
	todo := make(chan int)
	var mu sync.Mutex
	var ends []time.Time
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range todo {
				if err := runRow(ctx, c, clk, i); err != nil {
					b.Error(err)
					continue
				}
				mu.Lock()
				ends = append(ends, clk.Now())
				mu.Unlock()
			}
		}()
	}
	for i := range rows {
		todo <- i
	}
	close(todo)
	wg.Wait()
	elapsed := clk.Now().Sub(start)
	whole := start.Add(elapsed.Truncate(time.Minute))
	inWhole := 0
	for _, t := range ends {
		if t.Before(whole) {
			inWhole++
		}
	}
	requests, throttled := log.Counts()
	return batchFigures{jobsPerMin: float64(len(ends)) / elapsed.Minutes(),
		windowShare: float64(inWhole) / (whole.Sub(start).Minutes() * float64(limit) / 2),
		completed:   len(ends), requests: requests, throttled: throttled}
}

// runRow is one row: a run of one paid step, created and followed until it ends.
func runRow(ctx context.Context, c *piapi.Client, clk clock.Clock, i int) error {
	body := fmt.Appendf(nil, `{"steps":[{"id":"ad","action":"campaigns.generate","input":{"prompt":"row %d"}}]}`, i)
	cr, err := c.CreateRun(ctx, body)
	if err != nil {
		return err
	}
	shown := &run.Run{ID: cr.RunID, Status: run.Status(cr.Status)}
	r, err := c.Follow(ctx, cr.RunID, shown, quiet{}, piapi.FollowOptions{Interval: 30 * time.Second, Clock: clk})
	if err != nil {
		return err
	}
	if r.Status != run.Completed {
		return fmt.Errorf("row %d: run %s %s", i, r.ID, r.Status)
	}
	return nil
}

type quiet struct{}

func (quiet) Start(*run.Run)            {}
func (quiet) Event(run.Event, *run.Run) {}
func (quiet) Warn(string)               {}
