// Package dag owns dependency graphs: vertices named by ids and their dependencies, built
// once (index, edges, stable cycles, ancestors, layers) and asked by every user. It knows
// nothing of pipelines: validation and the engine build one from steps, the report from a
// run's steps, the simulated server from a run body's.
package dag

import (
	"fmt"
	"sort"
)

// Graph is a dependency graph of n vertices, each named by an id and depending on others
// by id, built once in time linear in vertices and dependencies. Vertices are numbered
// 0..n-1 in the order given. A later vertex with the id of an earlier one is a duplicate
// (the caller reports it): it is nobody's dependency and no dependent of its
// dependencies. Unknown dependencies, self-dependencies and repeats are left out of the
// edges.
type Graph struct {
	n     int
	id    func(i int) string
	index map[string]int
	// deps[i] are the vertices i depends on, users[i] the vertices that depend on i, both in
	// the order given and without repeats (a duplicate vertex has deps, for drawing, but
	// is nobody's dependent).
	deps, users [][]int
	// depth is the layer of each vertex; cyclic is set when some vertices form a cycle.
	depth  []int
	layers int
	cyclic bool
	cycles [][]int
	// below caches, for a vertex often asked about, the vertices that depend on it (bitsets).
	below map[int][]uint64
	// problem is the first reason the graph cannot run as it is (see Err).
	problem error
}

// New builds the graph of n vertices: vertex i is named id(i) and depends on the vertices
// named deps(i). Both are called while New runs, and id again by the methods that name
// vertices (First, Duplicate, and Cycles' order), so the graph keeps no copy of the ids.
func New(n int, id func(i int) string, deps func(i int) []string) *Graph {
	g := &Graph{n: n, id: id, index: make(map[string]int, n), deps: make([][]int, n), users: make([][]int, n)}
	for i := range n {
		if id := id(i); id != "" {
			if _, dup := g.index[id]; !dup {
				g.index[id] = i
			}
		}
	}
	for i := range n {
		self := id(i)
		dup := !g.First(i) && self != ""
		if dup {
			g.note("id %q is used twice", self)
		}
		deps := deps(i)
		var seen map[int]bool // only for long lists: short ones are searched
		if len(deps) > 16 {
			seen = make(map[int]bool, len(deps))
		}
		for _, d := range deps {
			j, ok := g.index[d]
			switch {
			case !ok:
				g.note("%q depends on unknown %q", self, d)
			case d == self:
				g.note("%q depends on itself", d)
			}
			if !ok || j == i || g.has(i, j, seen) {
				continue
			}
			g.deps[i] = append(g.deps[i], j)
			if !dup {
				g.users[j] = append(g.users[j], i)
			}
		}
	}
	g.findCycles()
	if len(g.cycles) > 0 {
		g.note("%q is on a dependency cycle", id(g.cycles[0][0]))
	}
	g.computeDepth()
	return g
}

// note records a problem unless an earlier one is known.
func (g *Graph) note(format string, args ...any) {
	if g.problem == nil {
		g.problem = fmt.Errorf(format, args...)
	}
}

// Err is the first reason found while the graph was built why it cannot be run as it is:
// in the order of the vertices, an id used twice, a dependency on itself or on an unknown
// id; then a cycle (the first Cycles names). It is nil for a graph that can run: an
// executor checks it in constant time instead of validating again. Validation, which says
// all of it in its own words, asks Duplicate, Index and Cycles instead.
func (g *Graph) Err() error { return g.problem }

// has reports whether j is already a dependency of i.
func (g *Graph) has(i, j int, seen map[int]bool) bool {
	if seen != nil {
		if seen[j] {
			return true
		}
		seen[j] = true
		return false
	}
	for _, d := range g.deps[i] {
		if d == j {
			return true
		}
	}
	return false
}

// Len is the number of vertices.
func (g *Graph) Len() int { return g.n }

// Index returns the vertex with the given id (the first one, when the id is repeated).
func (g *Graph) Index(id string) (int, bool) {
	i, ok := g.index[id]
	return i, ok
}

// First reports whether vertex i is the first vertex of its id (and its id is not empty).
func (g *Graph) First(i int) bool {
	j, ok := g.index[g.id(i)]
	return ok && j == i
}

// Duplicate reports whether vertex i repeats the id of an earlier vertex.
func (g *Graph) Duplicate(i int) bool {
	j, ok := g.index[g.id(i)]
	return ok && j != i
}

// Deps are the known vertices i depends on, in the order given.
func (g *Graph) Deps(i int) []int { return g.deps[i] }

// Dependents are the vertices that depend on i, in the order given.
func (g *Graph) Dependents(i int) []int { return g.users[i] }

// Depth is the layer of vertex i, from 0 (see Layers).
func (g *Graph) Depth(i int) int { return g.depth[i] }

// Cycles are the dependency cycles, one per strongly connected component, each as a path
// start -> ... -> start that begins at the component's shortest id (then the
// alphabetically first) and is a shortest cycle through it, trying dependencies in that
// order: the same text whatever the order of the vertices.
func (g *Graph) Cycles() [][]int { return g.cycles }

// Ancestor reports whether vertex anc is reachable from vertex i through dependencies.
//
// A direct dependency answers at once. Otherwise a search walks back from i, in a DAG only
// through vertices deeper than anc (an ancestor is in an earlier layer). A vertex that is asked
// about often from far away (many steps mapping the result of one early step) gets its
// descendants computed once, so a graph of n such vertices costs O(n), not O(n²). Not safe for
// concurrent use (the cache).
func (g *Graph) Ancestor(i, anc int) bool {
	for _, d := range g.deps[i] {
		if d == anc {
			return true
		}
	}
	floor := -1
	if !g.cyclic {
		if g.depth[anc] >= g.depth[i] {
			return false
		}
		floor = g.depth[anc]
	}
	if set, ok := g.below[anc]; ok && !g.Duplicate(i) {
		return set[i/64]&(1<<(i%64)) != 0
	}
	seen := map[int]bool{i: true}
	stack := []int{i}
	found := false
	for len(stack) > 0 && !found {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range g.deps[cur] {
			if d == anc {
				found = true
				break
			}
			if !seen[d] && g.depth[d] > floor {
				seen[d] = true
				stack = append(stack, d)
			}
		}
	}
	if len(seen) > farSearch && len(g.below) < maxBelowSets {
		g.cacheDescendants(anc)
	}
	return found
}

// A search that visits more than farSearch vertices makes its target's descendants cached;
// at most maxBelowSets are kept (n/8 bytes each).
const (
	farSearch    = 64
	maxBelowSets = 256
)

// cacheDescendants records the vertices that reach anc (its dependents, transitively).
func (g *Graph) cacheDescendants(anc int) {
	if g.below == nil {
		g.below = map[int][]uint64{}
	}
	set := make([]uint64, (g.n+63)/64)
	queue := []int{anc}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, u := range g.users[cur] {
			if set[u/64]&(1<<(u%64)) == 0 {
				set[u/64] |= 1 << (u % 64)
				queue = append(queue, u)
			}
		}
	}
	g.below[anc] = set
}

// Layers groups vertices by depth in the DAG: the first layer has the vertices without
// dependencies, each next layer the vertices whose dependencies are all in earlier layers.
// Within a layer vertices keep the order given. Unknown dependencies are ignored and vertices
// on a cycle are put after everything they can be ordered after, so a drawing of an
// invalid graph still shows every vertex once.
func (g *Graph) Layers() [][]int {
	layers := make([][]int, g.layers)
	for i, d := range g.depth {
		layers[d] = append(layers[d], i)
	}
	return layers
}

// computeDepth gives each vertex its layer: one more than its deepest dependency. A
// duplicate vertex takes the layer its dependencies give it.
func (g *Graph) computeDepth() {
	const (
		unvisited = -1
		visiting  = -2
	)
	n := g.n
	g.depth = make([]int, n)
	for i := range g.depth {
		g.depth[i] = unvisited
	}
	deps := func(i int) []int { return g.deps[i] }
	type frame struct {
		node, dep int
		deps      []int
	}
	for root := 0; root < n; root++ {
		if g.depth[root] != unvisited {
			continue
		}
		// Iterative depth-first search, so a 100,000-vertex chain does not recurse that deep.
		stack := []frame{{root, 0, deps(root)}}
		g.depth[root] = visiting
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.dep < len(f.deps) {
				j := f.deps[f.dep]
				f.dep++
				if g.depth[j] == unvisited {
					g.depth[j] = visiting
					stack = append(stack, frame{j, 0, deps(j)})
				}
				continue
			}
			d := 0
			for _, j := range f.deps {
				if g.depth[j] >= 0 {
					d = max(d, g.depth[j]+1)
				}
			}
			g.depth[f.node] = d
			g.layers = max(g.layers, d+1)
			stack = stack[:len(stack)-1]
		}
	}
}

// findCycles names each cycle once (see Cycles).
func (g *Graph) findCycles() {
	n := g.n
	// Edges tried in id order, so the shortest cycle found does not depend on the file.
	adj := make([][]int, n)
	for i := range adj {
		if len(g.deps[i]) == 0 || g.Duplicate(i) {
			continue // only the first step of an id takes part in the graph
		}
		adj[i] = append([]int(nil), g.deps[i]...)
		sort.Slice(adj[i], func(a, b int) bool { return idLess(g.id(adj[i][a]), g.id(adj[i][b])) })
	}
	for _, comp := range sccs(adj) {
		if len(comp) < 2 {
			continue
		}
		g.cyclic = true
		start := comp[0]
		in := make(map[int]bool, len(comp))
		for _, c := range comp {
			in[c] = true
			if idLess(g.id(c), g.id(start)) {
				start = c
			}
		}
		g.cycles = append(g.cycles, shortestCycle(adj, start, in))
	}
	sort.Slice(g.cycles, func(a, b int) bool { return g.cycles[a][0] < g.cycles[b][0] })
}

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// shortestCycle finds the shortest path start -> ... -> start inside the component, trying
// neighbours in sorted order, so the cycle named is stable.
func shortestCycle(adj [][]int, start int, in map[int]bool) []int {
	prev := map[int]int{}
	queue := []int{start}
	visited := map[int]bool{start: true}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, nxt := range adj[cur] {
			if !in[nxt] {
				continue
			}
			if nxt == start {
				path := []int{start}
				for c := cur; c != start; c = prev[c] {
					path = append(path, c)
				}
				// path is start, then the chain back from cur; reverse the chain.
				for a, b := 1, len(path)-1; a < b; a, b = a+1, b-1 {
					path[a], path[b] = path[b], path[a]
				}
				return append(path, start)
			}
			if !visited[nxt] {
				visited[nxt] = true
				prev[nxt] = cur
				queue = append(queue, nxt)
			}
		}
	}
	return []int{start, start}
}

// sccs returns the strongly connected components of the graph (Tarjan, iterative so a
// long chain cannot overflow the stack).
func sccs(adj [][]int) [][]int {
	n := len(adj)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	counter := 0
	type frame struct{ node, edge int }
	for root := 0; root < n; root++ {
		if index[root] >= 0 {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = counter, counter
		counter++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.edge < len(adj[f.node]) {
				w := adj[f.node][f.edge]
				f.edge++
				if index[w] < 0 {
					index[w], low[w] = counter, counter
					counter++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] {
					low[f.node] = min(low[f.node], index[w])
				}
				continue
			}
			node := f.node
			call = call[:len(call)-1]
			if len(call) > 0 {
				parent := call[len(call)-1].node
				low[parent] = min(low[parent], low[node])
			}
			if low[node] == index[node] {
				var comp []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == node {
						break
					}
				}
				out = append(out, comp)
			}
		}
	}
	return out
}
