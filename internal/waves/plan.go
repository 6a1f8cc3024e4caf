// Package waves runs a pipeline of more steps than one run of the Runs API takes (10) as
// several server runs, one logical run: Cut plans them (pure: a graph in, waves out) and
// Run submits each wave once the results it needs are known, passes those results to it as
// literal inputs (internal/reuse) and follows every server run as one run.
package waves

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pi-cli/pi/internal/dag"
)

// Wave is one server run of a plan.
type Wave struct {
	// Steps are the vertices it runs, ascending (the pipeline's order).
	Steps []int
	// After are the waves whose results it needs, ascending: it is submitted when they
	// all completed.
	After []int
	// Depth is how many batches the server runs it in (its steps' layers).
	Depth int
}

// Plan is a graph cut into waves.
type Plan struct {
	Waves []Wave
	// Of is the wave of each vertex.
	Of []int
	// Span is the plan's critical path, in the server's batches: waves whose inputs are
	// known run side by side, the steps of one wave in its batches.
	Span int
}

// TooBigError is a set of steps that must share one server run (a result that cannot be
// passed as a literal, and the steps between) but are more than a run takes.
type TooBigError struct {
	Steps []int // ascending
	Limit int
	Why   string // the first reason they must share a run
}

func (e *TooBigError) Error() string {
	return fmt.Sprintf("%d steps must run in one server run (%s), and the Runs API takes at most %d", len(e.Steps), e.Why, e.Limit)
}

// Cut cuts graph g (acyclic) into waves of at most limit vertices that respect its
// dependencies: a vertex's dependencies are in its wave or in earlier ones, and the waves
// form an acyclic graph. together(i) lists the vertices that must be in i's wave (their
// result cannot reach i as a literal), with why as the reason. It packs the waves full in
// a few orders (fewest waves: ceil(n/limit) when nothing must be together), shortens each
// packing's critical path by moving and exchanging steps between its waves (improve.go;
// on graphs of up to 8 steps no cut of as many waves is shorter, TestCutAgainstBruteForce)
// and keeps the one of fewest waves, then of the shortest critical path. A set of
// vertices that must be together and is larger than limit is a *TooBigError.
func Cut(g *dag.Graph, limit int, together func(i int) (with []int, why string)) (*Plan, error) {
	n := g.Len()
	if n == 0 {
		return &Plan{}, nil
	}
	gr, err := groupsOf(g, limit, together)
	if err != nil {
		return nil, err
	}
	// Each packing improved by moving steps between its waves; the best kept.
	var best *Plan
	for _, rule := range rules {
		waveOf, count := gr.pack(limit, rule)
		waveOf, count = gr.improve(g, limit, waveOf, count)
		pl := gr.plan(g, waveOf, count)
		if best == nil || len(pl.Waves) < len(best.Waves) || len(pl.Waves) == len(best.Waves) && pl.Span < best.Span {
			best = pl
		}
	}
	return best, nil
}

// groups are the vertices that must share a wave: each vertex's group, and the members of
// each group, ascending.
type groups struct {
	of      []int
	members [][]int
	deps    [][]int // the groups each group needs, ascending
	depth   []int   // the least depth of a group's members
	height  []int   // the longest chain of vertices from a group to a sink
}

// groupsOf makes the groups: vertices that must be together, with every vertex on a path
// between two of them (else the waves would need each other), merged until the groups'
// graph is acyclic.
func groupsOf(g *dag.Graph, limit int, together func(int) ([]int, string)) (*groups, error) {
	n := g.Len()
	uf := newUnion(n)
	for i := range n {
		if together == nil {
			break
		}
		with, w := together(i)
		for _, j := range with {
			uf.join(i, j)
			if r := uf.find(i); uf.why[r] == "" {
				uf.why[r] = w
			}
		}
	}
	for {
		changed := convex(g, uf)
		gr := uf.groups(g)
		cyc := dag.New(len(gr.members), func(k int) string { return fmt.Sprint(k) },
			func(k int) []string { return itoa(gr.deps[k]) }).Cycles()
		for _, c := range cyc {
			for _, k := range c[1:] {
				changed = uf.join(gr.members[c[0]][0], gr.members[k][0]) || changed
			}
		}
		if changed {
			continue
		}
		for k, m := range gr.members {
			if len(m) > limit {
				return nil, &TooBigError{Steps: m, Limit: limit, Why: uf.why[uf.find(gr.members[k][0])]}
			}
		}
		gr.measure(g)
		return gr, nil
	}
}

// convex adds to each group of more than one vertex the vertices on paths between its
// members; it reports whether a group grew.
func convex(g *dag.Graph, uf *union) bool {
	n := g.Len()
	byRoot := map[int][]int{}
	for i := range n {
		r := uf.find(i)
		byRoot[r] = append(byRoot[r], i)
	}
	changed := false
	for _, r := range slices.Sorted(maps.Keys(byRoot)) {
		m := byRoot[r]
		if len(m) < 2 {
			continue
		}
		down := reach(n, m, g.Dependents)
		up := reach(n, m, g.Deps)
		for v := range n {
			if down[v] && up[v] && uf.join(v, r) {
				changed = true
			}
		}
	}
	return changed
}

// reach marks the vertices reachable from from through next (from included).
func reach(n int, from []int, next func(int) []int) []bool {
	seen := make([]bool, n)
	q := append([]int(nil), from...)
	for _, v := range from {
		seen[v] = true
	}
	for len(q) > 0 {
		v := q[len(q)-1]
		q = q[:len(q)-1]
		for _, w := range next(v) {
			if !seen[w] {
				seen[w] = true
				q = append(q, w)
			}
		}
	}
	return seen
}

// measure computes each group's depth and height.
func (gr *groups) measure(g *dag.Graph) {
	k := len(gr.members)
	gr.depth = make([]int, k)
	for i, m := range gr.members {
		gr.depth[i] = g.Depth(m[0])
		for _, v := range m {
			gr.depth[i] = min(gr.depth[i], g.Depth(v))
		}
	}
	// Height of a vertex: 1 + the highest dependent; a group's: its highest member's.
	n := g.Len()
	h := make([]int, n)
	layers := g.Layers()
	for l := len(layers) - 1; l >= 0; l-- {
		for _, v := range layers[l] {
			h[v] = 1
			for _, d := range g.Dependents(v) {
				h[v] = max(h[v], h[d]+1)
			}
		}
	}
	gr.height = make([]int, k)
	for i, m := range gr.members {
		for _, v := range m {
			gr.height[i] = max(gr.height[i], h[v])
		}
	}
}

// rule orders the groups ready to be placed: the one that sorts first goes into the wave
// being filled. inWave reports whether a group has a dependency in that wave.
type rule func(gr *groups, a, b int, inWave func(int) bool) int

// rules are the orders Cut tries, the first wins ties: by layer (fan-outs spread over
// waves that run side by side), along chains (a chain kept in one wave), longest chain
// first, the pipeline's order.
var rules = []rule{
	func(gr *groups, a, b int, _ func(int) bool) int {
		return cmp.Or(cmp.Compare(gr.depth[a], gr.depth[b]), cmp.Compare(a, b))
	},
	func(gr *groups, a, b int, inWave func(int) bool) int {
		return cmp.Or(-cmp.Compare(b2i(inWave(a)), b2i(inWave(b))), -cmp.Compare(gr.height[a], gr.height[b]), cmp.Compare(a, b))
	},
	func(gr *groups, a, b int, _ func(int) bool) int {
		return cmp.Or(-cmp.Compare(gr.height[a], gr.height[b]), cmp.Compare(a, b))
	},
	func(_ *groups, a, b int, _ func(int) bool) int { return cmp.Compare(a, b) },
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pack fills waves of at most limit vertices in turn with the groups whose dependencies
// are placed (in an earlier wave or the one being filled), the first by r that fits; a
// wave is closed when no ready group fits in it.
func (gr *groups) pack(limit int, r rule) (waveOf []int, count int) {
	k := len(gr.members)
	waiting := make([]int, k)
	users := make([][]int, k)
	for a, deps := range gr.deps {
		waiting[a] = len(deps)
		for _, d := range deps {
			users[d] = append(users[d], a)
		}
	}
	waveOf = make([]int, k)
	var ready []int
	for a := range k {
		if waiting[a] == 0 {
			ready = append(ready, a)
		}
	}
	wave, room, placed := 0, limit, 0
	inWave := func(a int) bool {
		for _, d := range gr.deps[a] {
			if waveOf[d] == wave {
				return true
			}
		}
		return false
	}
	for placed < k {
		best := -1
		for idx, a := range ready {
			if len(gr.members[a]) <= room && (best < 0 || r(gr, a, ready[best], inWave) < 0) {
				best = idx
			}
		}
		if best < 0 {
			if room == limit {
				panic("waves: a group larger than a wave, or a cycle") // groupsOf refuses both
			}
			wave, room = wave+1, limit
			continue
		}
		a := ready[best]
		ready = slices.Delete(ready, best, best+1)
		waveOf[a], room, placed = wave, room-len(gr.members[a]), placed+1
		for _, u := range users[a] {
			if waiting[u]--; waiting[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	return waveOf, wave + 1
}

// plan is the Plan of the groups placed in waves (numbered so that a wave comes after
// the waves it needs): each wave's steps, the waves it needs, its depth, and the critical
// path.
func (gr *groups) plan(g *dag.Graph, waveOf []int, count int) *Plan {
	n := g.Len()
	pl := &Plan{Waves: make([]Wave, count), Of: make([]int, n)}
	for i := range n {
		pl.Of[i] = waveOf[gr.of[i]]
	}
	// Layers inside a wave, in the graph's layer order (dependencies first).
	layer := make([]int, n)
	for _, l := range g.Layers() {
		for _, v := range l {
			w := pl.Of[v]
			pl.Waves[w].Steps = append(pl.Waves[w].Steps, v)
			layer[v] = 1
			for _, d := range g.Deps(v) {
				if pl.Of[d] == w {
					layer[v] = max(layer[v], layer[d]+1)
				} else if !slices.Contains(pl.Waves[w].After, pl.Of[d]) {
					pl.Waves[w].After = append(pl.Waves[w].After, pl.Of[d])
				}
			}
			pl.Waves[w].Depth = max(pl.Waves[w].Depth, layer[v])
		}
	}
	end := make([]int, count)
	for w := range pl.Waves {
		wv := &pl.Waves[w]
		slices.Sort(wv.Steps)
		slices.Sort(wv.After)
		start := 0
		for _, a := range wv.After {
			start = max(start, end[a]) // waves are placed after the waves they need
		}
		end[w] = start + wv.Depth
		pl.Span = max(pl.Span, end[w])
	}
	return pl
}

// union is a union-find of vertices, with why each group must be together.
type union struct {
	parent []int
	why    []string // by root
}

func newUnion(n int) *union {
	u := &union{parent: make([]int, n), why: make([]string, n)}
	for i := range u.parent {
		u.parent[i] = i
	}
	return u
}

func (u *union) find(i int) int {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

// join merges the groups of i and j, the smaller root the new one; it reports whether
// they were apart.
func (u *union) join(i, j int) bool {
	a, b := u.find(i), u.find(j)
	if a == b {
		return false
	}
	if b < a {
		a, b = b, a
	}
	u.parent[b] = a
	u.why[a] = cmp.Or(u.why[a], u.why[b])
	return true
}

// groups numbers the union's groups in the order of their first vertex, with the groups
// each needs.
func (u *union) groups(g *dag.Graph) *groups {
	n := g.Len()
	gr := &groups{of: make([]int, n)}
	num := map[int]int{}
	for i := range n {
		r := u.find(i)
		k, ok := num[r]
		if !ok {
			k = len(gr.members)
			num[r] = k
			gr.members = append(gr.members, nil)
		}
		gr.of[i] = k
		gr.members[k] = append(gr.members[k], i)
	}
	gr.deps = make([][]int, len(gr.members))
	for i := range n {
		for _, d := range g.Deps(i) {
			a, b := gr.of[i], gr.of[d]
			if a != b && !slices.Contains(gr.deps[a], b) {
				gr.deps[a] = append(gr.deps[a], b)
			}
		}
	}
	for k := range gr.deps {
		slices.Sort(gr.deps[k])
	}
	return gr
}

func itoa(ks []int) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = fmt.Sprint(k)
	}
	return out
}

// Names are the ids of vertices, for messages.
func Names(ids []string) string {
	if len(ids) > 12 {
		return strings.Join(ids[:12], ", ") + fmt.Sprintf(" and %d more", len(ids)-12)
	}
	return strings.Join(ids, ", ")
}
