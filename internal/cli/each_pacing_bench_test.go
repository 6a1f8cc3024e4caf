package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/batch"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/sandbox"
)

// Issue 23's pacing benchmark through pi run --each: 200 single-job rows (one
// campaigns.generate step each) against the in-process sandbox at --sandbox-rate-limit
// 120/min, --max-parallel 8, -q -o json, as a user runs it: the batch's rows share the
// sandbox and the Factory's limiter of its origin. Time is scaled 60x as in
// internal/piapi's BenchmarkPacedBatch: the sandbox runs on a clock.Scaled (its window,
// Reset, Retry-After, job latency of 1 s of its time, long-polls) and the Factory's
// limiters and the client's retries on the same one; what pi does around the rows (the
// ledger and run records in SQLite, following) runs in real time, so it weighs 60 times
// more than it would.
//
//	go test ./internal/cli -run '^$' -bench BenchmarkEachPaced -benchtime 1x
//
// Reports jobs/min of the sandbox's time start to end, limit_share (that over the 60 rows
// a minute that 120 requests allow at 2 a row), req/job and 429_pct.
func BenchmarkEachPaced(b *testing.B) {
	const rows, limit = 200, 120
	for range b.N {
		dir := b.TempDir()
		var csv strings.Builder
		csv.WriteString("n\n")
		for i := range rows {
			fmt.Fprintf(&csv, "%d\n", i)
		}
		write := func(name, text string) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
				b.Fatal(err)
			}
			return p
		}
		rowsFile := write("rows.csv", csv.String())
		pipe := write("p.yaml", "params: {n: \"0\"}\nsteps:\n  - id: ad\n    action: campaigns.generate\n    input: {prompt: \"an ad for row ${params.n}\"}\n")

		clk := clock.NewScaled(60)
		clk.Start = clk.Start.Truncate(time.Minute) // the batch starts with a window
		log := &sandbox.StatusCounter{}
		env := map[string]string{"HOME": dir, "XDG_STATE_HOME": filepath.Join(dir, "state"), "XDG_CACHE_HOME": filepath.Join(dir, "cache"), "XDG_CONFIG_HOME": filepath.Join(dir, "config")}
		f, out, errOut := eachFactory(env)
		f.limiters.Clock = clk
		cmd := newRunCmd(f, func(o *runOptions) error {
			o.StartSandbox = scaledSandbox(f, clk, filepath.Join(dir, "sandbox.db"), log)
			return runRun(context.Background(), o)
		})
		cmd.SetArgs([]string{pipe, "--each", rowsFile, "--sandbox", "--sandbox-rate-limit", fmt.Sprintf("%d/min", limit),
			"--max-parallel", "8", "-q", "-o", "json", "--no-cache"})
		cmd.SetOut(out)
		cmd.SetErr(errOut)
		start := clk.Now()
		if err := cmd.Execute(); err != nil {
			b.Fatalf("pi run --each: %v\n%s", err, errOut)
		}
		elapsed := clk.Now().Sub(start)
		var sum batch.Summary
		if err := json.Unmarshal(out.Bytes(), &sum); err != nil || sum.Counts[batch.Completed] != rows {
			b.Fatalf("the batch's summary %v (%v): want %d rows completed", sum.Counts, err, rows)
		}
		requests, limited := log.Counts()
		b.ReportMetric(float64(rows)/elapsed.Minutes(), "jobs/min")
		b.ReportMetric(float64(rows)/elapsed.Minutes()/(limit/2), "limit_share")
		b.ReportMetric(float64(requests)/rows, "req/job")
		b.ReportMetric(100*float64(limited)/float64(requests), "429_pct")
	}
}

// scaledSandbox is a StartSandbox of a sandbox on clk, scaled 60x, logging to log, with
// a client on the same clock and the Factory's limiter of its origin.
func scaledSandbox(f *Factory, clk *clock.Scaled, db string, log *sandbox.StatusCounter) func(context.Context, sandboxSpec) (*piapi.Client, *sandboxSession, error) {
	return func(ctx context.Context, spec sandboxSpec) (*piapi.Client, *sandboxSession, error) {
		inst, err := sandbox.Start(ctx, sandbox.Options{DBPath: db, Latency: time.Second, TimeScale: clk.Factor, Clock: clk,
			RateLimit: spec.RateLimit, Logger: log})
		if err != nil {
			return nil, nil, err
		}
		c, err := piapi.New(piapi.Config{BaseURL: inst.URL, APIKey: inst.APIKey, Clock: clk, Limiter: f.limiters.For(inst.URL)})
		if err != nil {
			inst.Close()
			return nil, nil, err
		}
		return c, &sandboxSession{inst: inst, DB: db}, nil
	}
}
