package waves

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pi-cli/pi/internal/dag"
)

// graph builds a dag of n vertices "s0".."s(n-1)" with deps[i] as vertex i's dependencies.
func graph(n int, deps map[int][]int) *dag.Graph {
	return dag.New(n, func(i int) string { return fmt.Sprint("s", i) }, func(i int) []string {
		var out []string
		for _, d := range deps[i] {
			out = append(out, fmt.Sprint("s", d))
		}
		return out
	})
}

// fanOut is the campaign shape: 1 extraction, gens generations of it, and per generation
// locs localizations: 1 + gens + gens*locs vertices.
func fanOut(gens, locs int) (int, map[int][]int) {
	deps := map[int][]int{}
	n := 1
	for g := 0; g < gens; g++ {
		gi := n
		deps[gi] = []int{0}
		n++
		for l := 0; l < locs; l++ {
			deps[n] = []int{gi}
			n++
		}
	}
	return n, deps
}

func chain(from, n int, deps map[int][]int) {
	for i := from + 1; i < from+n; i++ {
		deps[i] = []int{i - 1}
	}
}

func TestCutShapes(t *testing.T) {
	n40, fan := fanOut(3, 12)
	chains := map[int][]int{}
	chain(0, 10, chains)
	chain(10, 10, chains)
	chainAndFree := map[int][]int{}
	chain(0, 10, chainAndFree)
	chain25 := map[int][]int{}
	chain(0, 25, chain25)
	tests := []struct {
		name        string
		n           int
		deps        map[int][]int
		waves, span int
	}{
		// 40 steps: the extraction and generations in the first run with 6 localizations,
		// the 30 others in 3 runs side by side: 3 batches, then 1.
		{"fan-out 40", n40, fan, 4, 4},
		// Two chains of 10: one run each, side by side, not one after the other.
		{"two chains", 20, chains, 2, 10},
		{"chain and 10 free steps", 20, chainAndFree, 2, 10},
		{"chain of 25", 25, chain25, 3, 25},
		{"10 free steps", 10, nil, 1, 1},
		{"25 free steps", 25, nil, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := graph(tt.n, tt.deps)
			pl, err := Cut(g, 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, g, pl, 10, nil)
			if len(pl.Waves) != tt.waves || pl.Span != tt.span {
				t.Errorf("%d waves, span %d; want %d waves, span %d: %+v", len(pl.Waves), pl.Span, tt.waves, tt.span, pl.Waves)
			}
		})
	}
}

func TestCutTogether(t *testing.T) {
	// s12 maps the whole result of s2, so s2..s12 on the way must share its run (a chain
	// of 25 where s12 also depends on s2 directly).
	deps := map[int][]int{}
	chain(0, 25, deps)
	deps[11] = []int{10, 2}
	together := func(i int) ([]int, string) {
		if i == 11 {
			return []int{2}, "s11 maps the whole result of s2"
		}
		return nil, ""
	}
	g := graph(25, deps)
	pl, err := Cut(g, 10, together)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, g, pl, 10, together)
	for i := 2; i <= 11; i++ {
		if pl.Of[i] != pl.Of[2] {
			t.Errorf("s%d in wave %d, s2 in wave %d: the steps between s2 and s11 must be in its run", i, pl.Of[i], pl.Of[2])
		}
	}
	// One more step on the way: 11 steps cannot share a run.
	deps[12] = []int{11, 2}
	together = func(i int) ([]int, string) {
		if i == 12 {
			return []int{2}, "s12 maps the whole result of s2"
		}
		return nil, ""
	}
	_, err = Cut(graph(25, deps), 10, together)
	var tb *TooBigError
	if !errors.As(err, &tb) || !slices.Equal(tb.Steps, []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) || tb.Why != "s12 maps the whole result of s2" {
		t.Fatalf("err = %v, want the 11 steps s2..s12 named", err)
	}
}

// checkPlan checks what every plan must be: waves of at most limit steps, every step in
// exactly one, every dependency in the step's wave or in one it waits for (an earlier
// one), the vertices together in one wave, and the span the critical path of the waves.
func checkPlan(t *testing.T, g *dag.Graph, pl *Plan, limit int, together func(int) ([]int, string)) {
	t.Helper()
	seen := make([]int, g.Len())
	for w, wv := range pl.Waves {
		if len(wv.Steps) == 0 || len(wv.Steps) > limit {
			t.Fatalf("wave %d has %d steps", w, len(wv.Steps))
		}
		for _, v := range wv.Steps {
			seen[v]++
			if pl.Of[v] != w {
				t.Fatalf("Of[%d] = %d, in wave %d", v, pl.Of[v], w)
			}
		}
		for _, a := range wv.After {
			if a >= w {
				t.Fatalf("wave %d waits for wave %d", w, a)
			}
		}
	}
	for v := range g.Len() {
		if seen[v] != 1 {
			t.Fatalf("vertex %d in %d waves", v, seen[v])
		}
		w := pl.Of[v]
		for _, d := range g.Deps(v) {
			if pl.Of[d] != w && !slices.Contains(pl.Waves[w].After, pl.Of[d]) {
				t.Fatalf("vertex %d (wave %d) needs %d (wave %d), which its wave does not wait for", v, w, d, pl.Of[d])
			}
		}
		if together != nil {
			with, _ := together(v)
			for _, j := range with {
				if pl.Of[j] != w {
					t.Fatalf("vertex %d and %d must be together: waves %d and %d", v, j, w, pl.Of[j])
				}
			}
		}
	}
	// The span again, by simulation: a wave starts when the waves it needs ended, and
	// takes as many batches as the longest chain of its steps.
	end := make([]int, len(pl.Waves))
	span := 0
	for w, wv := range pl.Waves {
		long := map[int]int{}
		depth := 0
		for _, l := range g.Layers() {
			for _, v := range l {
				if pl.Of[v] != w {
					continue
				}
				long[v] = 1
				for _, d := range g.Deps(v) {
					if pl.Of[d] == w {
						long[v] = max(long[v], long[d]+1)
					}
				}
				depth = max(depth, long[v])
			}
		}
		start := 0
		for _, a := range wv.After {
			start = max(start, end[a])
		}
		end[w] = start + depth
		span = max(span, end[w])
	}
	if span != pl.Span {
		t.Fatalf("Span = %d, the waves take %d batches", pl.Span, span)
	}
	if layers := len(g.Layers()); pl.Span < layers {
		t.Fatalf("Span %d is shorter than the graph's %d layers", pl.Span, layers)
	}
}

// TestCutRandomDAGs checks every plan of 300 random graphs (up to 60 vertices, some with
// vertices that must be together): the invariants of checkPlan, and with nothing
// together, the fewest waves there can be.
func TestCutRandomDAGs(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 10))
	for k := range 300 {
		n := 1 + rng.IntN(60)
		deps := map[int][]int{}
		for i := 1; i < n; i++ {
			for range rng.IntN(4) {
				d := rng.IntN(i)
				if !slices.Contains(deps[i], d) {
					deps[i] = append(deps[i], d)
				}
			}
		}
		var together func(int) ([]int, string)
		if k%3 == 0 {
			glue := map[int][]int{}
			for i := 1; i < n; i++ {
				if len(deps[i]) > 0 && rng.IntN(8) == 0 {
					glue[i] = []int{deps[i][0]}
				}
			}
			together = func(i int) ([]int, string) { return glue[i], "glued" }
		}
		limit := []int{10, 3, 1}[k%3]
		g := graph(n, deps)
		pl, err := Cut(g, limit, together)
		var tb *TooBigError
		if errors.As(err, &tb) {
			if len(tb.Steps) <= limit {
				t.Fatalf("graph %d: %v, with %d steps", k, err, len(tb.Steps))
			}
			continue
		}
		if err != nil {
			t.Fatalf("graph %d: %v", k, err)
		}
		checkPlan(t, g, pl, limit, together)
		if together == nil && len(pl.Waves) != (n+limit-1)/limit {
			t.Fatalf("graph %d: %d vertices in %d waves of %d", k, n, len(pl.Waves), limit)
		}
	}
}

// BenchmarkCut is the planning of a 121-step campaign (10 heroes of 11 localizations each):
// about 9 ms on the shared 2-core machine.
//
//	go test ./internal/waves -run '^$' -bench Cut
func BenchmarkCut(b *testing.B) {
	n, deps := fanOut(10, 11) // 121 steps
	g := graph(n, deps)
	for b.Loop() {
		if _, err := Cut(g, 10, nil); err != nil {
			b.Fatal(err)
		}
	}
}
