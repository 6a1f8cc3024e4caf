package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/render"
)

// chainFile writes an n-step chain (each step depends on the one before and the one two
// back, and maps the one before, or with fromFirst the first step's result: what the
// ancestor check must find far away) for --local, where the step count has no limit.
func chainFile(tb testing.TB, n int, fromFirst bool) string {
	tb.Helper()
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
	path := filepath.Join(tb.TempDir(), fmt.Sprintf("chain-%d-%v.yaml", n, fromFirst))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkGraph is `pi graph` (load, validate, layers, the text drawing) of chains of 1,000
// to 100,000 steps, each mapping the step before or the first step: the time per step stays
// flat (linear), where it grew with the file before the graph was built once.
//
//	go test ./internal/cli -run '^$' -bench Graph -benchtime 3x
func BenchmarkGraph(b *testing.B) {
	for _, tc := range []struct {
		n         int
		fromFirst bool
	}{{1_000, false}, {10_000, false}, {100_000, false}, {10_000, true}, {100_000, true}} {
		n := tc.n
		path := chainFile(b, n, tc.fromFirst)
		name := fmt.Sprintf("steps-%d", n)
		if tc.fromFirst {
			name += "-map-first"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				ios, _, out, _ := render.Test()
				if err := runGraph(&graphOptions{IO: ios, File: path, Format: "text"}); err != nil {
					b.Fatal(err)
				}
				if !strings.Contains(out.String(), fmt.Sprintf("%d steps in %d layers", n, n)) {
					b.Fatalf("unexpected drawing: %.200s", out.String())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/step")
		})
	}
}

// TestGraphOfALongChain draws a 20,000-step chain whose steps all map the first one:
// every step once, in its own layer.
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
