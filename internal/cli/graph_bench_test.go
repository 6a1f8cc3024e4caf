package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
)

// chainYAML is an n-step chain (each step depends on the one before and the one two
// back, and maps the one before, or with fromFirst the first step's result: what the
// ancestor check must find far away) for --local, where the step count has no limit.
func chainYAML(n int, fromFirst bool) []byte {
	var b strings.Builder
	b.WriteString("steps:\n  - { id: s0, action: shell.run, input: { script: 'true' } }\n")
	for i := 1; i < n; i++ {
		deps := fmt.Sprintf("s%d", i-1)
		if i >= 2 {
			deps += fmt.Sprintf(", s%d", i-2)
		}
		src := i - 1
		if fromFirst {
			src = 0
		}
		fmt.Fprintf(&b, "  - { id: s%d, action: shell.run, depends_on: [%s], input: { script: 'true' }, input_map: { stdin: $steps.s%d.result.stdout } }\n", i, deps, src)
	}
	return []byte(b.String())
}

// chainFile writes chainYAML to a file.
func chainFile(tb testing.TB, n int, fromFirst bool) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), fmt.Sprintf("chain-%d-%v.yaml", n, fromFirst))
	if err := os.WriteFile(path, chainYAML(n, fromFirst), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkGraph is what `pi graph` does with a file (parse, validate, params, layers, the
// text drawing) for chains of 1,000 to 100,000 steps, each mapping the step before or the
// first step: the time per step stays flat (linear), where it grew with the file before
// the graph was built once. The bytes are given directly: pi reads files of at most
// 4 MiB (about 20,000 steps of this shape), and 100,000 steps are 13 MB.
//
//	go test ./internal/cli -run '^$' -bench Graph -benchtime 2x
func BenchmarkGraph(b *testing.B) {
	for _, tc := range []struct {
		n         int
		fromFirst bool
	}{{1_000, false}, {10_000, false}, {100_000, false}, {10_000, true}, {100_000, true}} {
		n := tc.n
		data := chainYAML(n, tc.fromFirst)
		name := fmt.Sprintf("steps-%d", n)
		if tc.fromFirst {
			name += "-map-first"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				q, _, ds, _ := pipeline.Load("chain.yaml", pipeline.Options{Mode: pipeline.Local, Data: data})
				if q == nil {
					b.Fatal(ds.Error())
				}
				if out := graphText(q); !strings.Contains(out, fmt.Sprintf("%d steps in %d layers", n, n)) {
					b.Fatalf("unexpected drawing: %.200s", out)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/step")
		})
	}
}

// TestGraphOfALongChain runs pi graph on a 20,000-step file (about the most pi reads)
// whose steps all map the first one: every step once, in its own layer.
func TestGraphOfALongChain(t *testing.T) {
	const n = 20_000
	ios, _, out, _ := render.Test()
	if err := runGraph(&graphOptions{IO: ios, File: chainFile(t, n, true), Format: "text"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), "\nlayer "); got != n {
		t.Errorf("%d layers, want %d", got, n)
	}
}
