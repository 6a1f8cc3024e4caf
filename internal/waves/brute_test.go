package waves

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pi-cli/pi/internal/dag"
)

// bestSpan is the shortest critical path of any cut of g into k waves of at most limit
// (every assignment tried), -1 when there is none.
func bestSpan(g *dag.Graph, k, limit int) int {
	n := g.Len()
	of := make([]int, n)
	best := -1
	var try func(v int)
	try = func(v int) {
		if v == n {
			if s := spanOf(g, of, k, limit); s >= 0 && (best < 0 || s < best) {
				best = s
			}
			return
		}
		for w := range k {
			of[v] = w
			try(v + 1)
		}
	}
	try(0)
	return best
}

// spanOf is the critical path of the cut of, -1 when it is no cut (a wave too big or
// empty, waves that need each other).
func spanOf(g *dag.Graph, of []int, k, limit int) int {
	size := make([]int, k)
	after := make([][]int, k)
	for v := range g.Len() {
		size[of[v]]++
		for _, d := range g.Deps(v) {
			if of[d] != of[v] && !slices.Contains(after[of[v]], of[d]) {
				after[of[v]] = append(after[of[v]], of[d])
			}
		}
	}
	for _, s := range size {
		if s == 0 || s > limit {
			return -1
		}
	}
	depth := make([]int, k)
	long := make([]int, g.Len())
	for _, l := range g.Layers() {
		for _, v := range l {
			long[v] = 1
			for _, d := range g.Deps(v) {
				if of[d] == of[v] {
					long[v] = max(long[v], long[d]+1)
				}
			}
			depth[of[v]] = max(depth[of[v]], long[v])
		}
	}
	end := make([]int, k)
	done := make([]bool, k)
	span := 0
	for left := k; left > 0; {
		progress := false
		for w := range k {
			if done[w] {
				continue
			}
			start, ready := 0, true
			for _, a := range after[w] {
				ready = ready && done[a]
				start = max(start, end[a])
			}
			if ready {
				done[w], end[w], progress = true, start+depth[w], true
				span = max(span, end[w])
				left--
			}
		}
		if !progress {
			return -1 // waves that need each other
		}
	}
	return span
}

// TestCutAgainstBruteForce: for 300 random graphs of 2 to 8 vertices cut into waves of
// at most 3, no cut into as many waves has a shorter critical path than Cut's (every
// assignment of vertices to waves tried).
func TestCutAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for k := range 300 {
		n := 2 + rng.IntN(7)
		deps := map[int][]int{}
		for i := 1; i < n; i++ {
			for range rng.IntN(3) {
				if d := rng.IntN(i); !slices.Contains(deps[i], d) {
					deps[i] = append(deps[i], d)
				}
			}
		}
		g := graph(n, deps)
		pl, err := Cut(g, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		if best := bestSpan(g, len(pl.Waves), 3); pl.Span > best {
			t.Errorf("graph %d (%d vertices, deps %v): span %d, a cut has %d", k, n, deps, pl.Span, best)
		}
	}
}
