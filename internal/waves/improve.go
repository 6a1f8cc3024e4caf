package waves

import "github.com/pi-cli/pi/internal/dag"

// improveBudget bounds the work of one improve, in vertices, edges and pairs of waves
// visited (about 10 ms): a pipeline of a hundred steps is improved to the end or nearly, a
// bigger one keeps part of the gain.
const improveBudget = 1_000_000

// improve moves groups from wave to wave, or exchanges two, while that shortens the
// critical path (the first change found that does, pass after pass), keeping every wave within limit and the
// waves' graph acyclic: packing fills each wave to the limit, and a wave left lighter can
// make the next one shallower (a chain's head alone in the first wave, its two leaves
// side by side in the second). The result is renumbered so that a wave comes after the
// waves it needs; a wave left empty is dropped.
func (gr *groups) improve(g *dag.Graph, limit int, waveOf []int, count int) ([]int, int) {
	k := len(gr.members)
	cost := g.Len() + count*count
	for v := range g.Len() {
		cost += len(g.Deps(v))
	}
	ev := newEvaluator(g, gr, limit)
	span, _ := ev.span(waveOf, count)
	spent := cost
	for improved := true; improved && spent < improveBudget; {
		improved = false
		for a := 0; a < k && spent < improveBudget; a++ {
			from := waveOf[a]
			for to := range count {
				if to == from {
					continue
				}
				waveOf[a] = to
				s, ok := ev.span(waveOf, count)
				spent += cost
				if ok && s < span {
					span, from, improved = s, to, true
					continue
				}
				waveOf[a] = from
			}
			// Or exchange it with a group of another wave (both waves full).
			for b := a + 1; b < k && !improved && spent < improveBudget; b++ {
				if waveOf[b] == from {
					continue
				}
				waveOf[a], waveOf[b] = waveOf[b], from
				s, ok := ev.span(waveOf, count)
				spent += cost
				if ok && s < span {
					span, from, improved = s, waveOf[a], true
					continue
				}
				waveOf[a], waveOf[b] = from, waveOf[a]
			}
		}
	}
	return ev.renumber(waveOf, count)
}

// evaluator computes the critical path of assignments of groups to waves, in buffers
// kept from one assignment to the next.
type evaluator struct {
	g     *dag.Graph
	gr    *groups
	limit int
	topo  []int // the vertices, dependencies first

	size, depth, long, waiting, end []int
	need                            []bool // need[w*count+a]: wave w needs wave a
	order                           []int
}

func newEvaluator(g *dag.Graph, gr *groups, limit int) *evaluator {
	ev := &evaluator{g: g, gr: gr, limit: limit, long: make([]int, g.Len())}
	for _, l := range g.Layers() {
		ev.topo = append(ev.topo, l...)
	}
	return ev
}

// span is the critical path of waveOf (count waves), ok false when it is no cut: a wave
// over the limit, or waves that need each other.
func (ev *evaluator) span(waveOf []int, count int) (span int, ok bool) {
	if !ev.waves(waveOf, count) {
		return 0, false
	}
	end := ev.end
	for _, w := range ev.order {
		start := 0
		for a := range count {
			if ev.need[w*count+a] {
				start = max(start, end[a])
			}
		}
		end[w] = start + ev.depth[w]
		span = max(span, end[w])
	}
	return span, true
}

// waves fills ev.order with the waves of waveOf in an order that puts a wave after those
// it needs (the lowest number first among those ready), ev.need with what each needs and
// ev.depth with each one's depth; false when a wave is over the limit or the waves need
// each other.
func (ev *evaluator) waves(waveOf []int, count int) bool {
	g, gr := ev.g, ev.gr
	ev.size, ev.depth, ev.waiting, ev.end = resize(ev.size, count), resize(ev.depth, count), resize(ev.waiting, count), resize(ev.end, count)
	if cap(ev.need) < count*count {
		ev.need = make([]bool, count*count)
	}
	ev.need = ev.need[:count*count]
	clear(ev.need)
	for a, m := range gr.members {
		ev.size[waveOf[a]] += len(m)
	}
	for _, n := range ev.size {
		if n > ev.limit {
			return false
		}
	}
	for _, v := range ev.topo {
		w := waveOf[gr.of[v]]
		ev.long[v] = 1
		for _, d := range g.Deps(v) {
			if dw := waveOf[gr.of[d]]; dw == w {
				ev.long[v] = max(ev.long[v], ev.long[d]+1)
			} else if !ev.need[w*count+dw] {
				ev.need[w*count+dw] = true
				ev.waiting[w]++
			}
		}
		ev.depth[w] = max(ev.depth[w], ev.long[v])
	}
	ev.order = ev.order[:0]
	for len(ev.order) < count {
		next := -1
		for w := range count {
			if ev.waiting[w] == 0 {
				next = w
				break
			}
		}
		if next < 0 {
			return false
		}
		ev.waiting[next] = -1
		ev.order = append(ev.order, next)
		for u := range count {
			if ev.need[u*count+next] {
				ev.waiting[u]--
			}
		}
	}
	return true
}

// resize is buf with n zeros.
func resize(buf []int, n int) []int {
	if cap(buf) < n {
		return make([]int, n)
	}
	buf = buf[:n]
	clear(buf)
	return buf
}

// renumber numbers the waves of waveOf in an order that puts a wave after those it needs,
// dropping empty ones.
func (ev *evaluator) renumber(waveOf []int, count int) ([]int, int) {
	ev.waves(waveOf, count)
	order := ev.order
	used := make([]bool, count)
	for _, w := range waveOf {
		used[w] = true
	}
	num := make([]int, count)
	n := 0
	for _, w := range order {
		if used[w] {
			num[w] = n
			n++
		}
	}
	out := make([]int, len(waveOf))
	for a, w := range waveOf {
		out[a] = num[w]
	}
	return out, n
}
