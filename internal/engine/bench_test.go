package engine

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// shape builds a benchmark graph of n steps.
func shape(name string, n int) *pipeline.Pipeline {
	p := &pipeline.Pipeline{Steps: make([]pipeline.Step, n)}
	for i := range p.Steps {
		p.Steps[i] = pipeline.Step{ID: fmt.Sprintf("s%d", i), Action: "campaigns.generate"}
	}
	for i := 1; i < n; i++ {
		switch name {
		case "chain":
			p.Steps[i].DependsOn = []string{p.Steps[i-1].ID}
		case "fanout":
			p.Steps[i].DependsOn = []string{p.Steps[0].ID}
		case "diamond": // one root, n-2 in the middle, one sink behind all of them
			if i < n-1 {
				p.Steps[i].DependsOn = []string{p.Steps[0].ID}
				continue
			}
			for j := 1; j < n-1; j++ {
				p.Steps[i].DependsOn = append(p.Steps[i].DependsOn, p.Steps[j].ID)
			}
		}
	}
	return p
}

var noop = ExecutorFunc(func(context.Context, Request) (map[string]any, error) { return nil, nil })

// BenchmarkRun measures the engine's own cost per step: New and Run with an executor that
// does nothing, concurrency 8 (the CLI's default) and an observer, as pi run uses it.
func BenchmarkRun(b *testing.B) {
	for _, name := range []string{"chain", "fanout", "diamond"} {
		for _, n := range []int{10, 1000, 10000} {
			b.Run(fmt.Sprintf("%s-%d", name, n), func(b *testing.B) {
				p := shape(name, n)
				events := 0
				opts := Options{Concurrency: 8, Observer: func(run.Event) { events++ }}
				b.ReportAllocs()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					opts.RunID = fmt.Sprint("bench-", i)
					r, err := build(p, noop, opts)
					if err != nil {
						b.Fatal(err)
					}
					got, _ := r.Run(context.Background())
					if got.Status != run.Completed {
						b.Fatalf("run %s", got.Status)
					}
				}
				b.StopTimer()
				runtime.ReadMemStats(&after)
				steps := float64(b.N) * float64(n)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/steps, "ns/step")
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/steps, "B/step")
			})
		}
	}
}

// skewed is one step "long" beside a chain c1 -> c2 -> ... -> c<n>.
func skewed(n int) *pipeline.Pipeline {
	p := &pipeline.Pipeline{Steps: []pipeline.Step{{ID: "long", Action: "campaigns.generate"}}}
	for i := 1; i <= n; i++ {
		st := pipeline.Step{ID: fmt.Sprintf("c%d", i), Action: "campaigns.generate"}
		if i > 1 {
			st.DependsOn = []string{fmt.Sprintf("c%d", i-1)}
		}
		p.Steps = append(p.Steps, st)
	}
	return p
}
