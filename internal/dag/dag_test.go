package dag

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// vertex is one vertex of a test graph.
type vertex struct {
	ID        string
	DependsOn []string
}

// vertices is a test graph before it is built.
type vertices struct{ Steps []vertex }

func (p *vertices) graph() *Graph {
	return New(len(p.Steps), func(i int) string { return p.Steps[i].ID }, func(i int) []string { return p.Steps[i].DependsOn })
}

// graphOf reads "id<dep,dep" strings.
func graphOf(steps ...string) *vertices {
	p := &vertices{}
	for _, s := range steps {
		id, deps, _ := strings.Cut(s, "<")
		st := vertex{ID: id}
		if deps != "" {
			st.DependsOn = strings.Split(deps, ",")
		}
		p.Steps = append(p.Steps, st)
	}
	return p
}

func names(p *vertices, idx []int) string {
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = p.Steps[i].ID
	}
	return strings.Join(out, " ")
}

func TestGraph(t *testing.T) {
	// b depends on a twice and on an unknown step; d is a duplicate of a; c depends on itself
	p := graphOf("a", "b<a,a,zz", "c<b,c", "a<c")
	g := p.graph()
	if i, ok := g.Index("a"); !ok || i != 0 {
		t.Errorf("Index(a) = %d %v", i, ok)
	}
	if got := names(p, g.Deps(1)); got != "a" {
		t.Errorf("deps of b: %q", got)
	}
	if got := names(p, g.Deps(2)); got != "b" {
		t.Errorf("deps of c: %q", got)
	}
	if got := names(p, g.Dependents(0)); got != "b" {
		t.Errorf("dependents of a: %q (the duplicate is nobody's dependent)", got)
	}
	if !g.Duplicate(3) || g.Duplicate(0) || len(g.Cycles()) != 0 {
		t.Errorf("duplicate %v, cycles %v", g.Duplicate(3), g.Cycles())
	}
	var layers []string
	for _, l := range g.Layers() {
		layers = append(layers, names(p, l))
	}
	if want := []string{"a", "b", "c", "a"}; !reflect.DeepEqual(layers, want) {
		t.Errorf("layers %q, want %q", layers, want)
	}
	if !g.Ancestor(2, 0) || g.Ancestor(0, 2) || g.Ancestor(1, 2) {
		t.Error("Ancestor")
	}
}

// The cycle named is the same whatever the order of the file: from the shortest id,
// along a shortest cycle.
func TestGraphCyclesStable(t *testing.T) {
	steps := []string{"gen<loc", "loc<edit,gen", "edit<loc", "x<x2", "x2<x", "free"}
	want := ""
	for n := 0; n < 50; n++ {
		perm := append([]string(nil), steps...)
		r := rand.New(rand.NewPCG(uint64(n), 1))
		r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		p := graphOf(perm...)
		var got []string
		for _, c := range p.graph().Cycles() {
			got = append(got, strings.ReplaceAll(names(p, c), " ", " -> "))
		}
		joined := strings.Join(sortedCopy(got), "; ")
		if n == 0 {
			want = joined
			if want != "gen -> loc -> gen; x -> x2 -> x" {
				t.Fatalf("cycles %q", want)
			}
		}
		if joined != want {
			t.Fatalf("order %v: cycles %q, want %q", perm, joined, want)
		}
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// Random graphs (repeats, unknown ids, self and cyclic dependencies): Ancestor agrees with
// a plain search, Dependents is the inverse of Deps, and in an acyclic graph every
// dependency is in an earlier layer.
func TestGraphProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for round := 0; round < 306; round++ {
		n := 1 + r.IntN(25)
		if round >= 300 {
			n = 200 + r.IntN(200) // big enough for the cached descendant sets
		}
		p := &vertices{}
		for i := 0; i < n; i++ {
			st := vertex{ID: fmt.Sprint("s", r.IntN(n+2))}
			for k := r.IntN(4); k > 0; k-- {
				limit := n
				if round%2 == 0 {
					limit = i + 1 // mostly backwards: acyclic more often
				}
				st.DependsOn = append(st.DependsOn, fmt.Sprint("s", r.IntN(limit+1)))
				if round >= 300 && i > 0 {
					st.DependsOn = append(st.DependsOn, p.Steps[i-1].ID) // long chains
				}
			}
			p.Steps = append(p.Steps, st)
		}
		g := p.graph()
		ancs := make([]int, 0, n)
		for anc := 0; anc < n; anc++ {
			if round < 300 || anc < 3 || r.IntN(n) < 8 {
				ancs = append(ancs, anc) // big graphs: a few targets, asked from every step
			}
		}
		for i := n - 1; i >= 0; i-- {
			for _, anc := range ancs {
				if got, want := g.Ancestor(i, anc), reachable(g, i, anc); got != want {
					t.Fatalf("round %d: Ancestor(%d, %d) = %v, want %v (%+v)", round, i, anc, got, want, p.Steps)
				}
			}
		}
		if round >= 300 && len(g.below) == 0 && len(g.Cycles()) == 0 {
			t.Errorf("round %d: no descendant set cached", round)
		}
		for i := 0; i < n; i++ {
			for _, d := range g.Deps(i) {
				if !g.Duplicate(i) && !slices.Contains(g.Dependents(d), i) {
					t.Fatalf("round %d: %d depends on %d but is not its dependent", round, i, d)
				}
				if len(g.Cycles()) == 0 && g.Depth(d) >= g.Depth(i) {
					t.Fatalf("round %d: dependency %d in layer %d, not before %d's %d", round, d, g.Depth(d), i, g.Depth(i))
				}
			}
		}
	}
}

func reachable(g *Graph, from, to int) bool {
	seen := map[int]bool{}
	stack := append([]int(nil), g.Deps(from)...)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c == to {
			return true
		}
		if !seen[c] {
			seen[c] = true
			stack = append(stack, g.Deps(c)...)
		}
	}
	return false
}

// BenchmarkNew builds the graph of chains of 1,000 to 100,000 vertices (each also
// depending on the one two back): the time per vertex stays flat.
func BenchmarkNew(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		p := &vertices{Steps: make([]vertex, n)}
		for i := range p.Steps {
			p.Steps[i].ID = fmt.Sprint("s", i)
			if i > 0 {
				p.Steps[i].DependsOn = []string{fmt.Sprint("s", i-1)}
			}
			if i > 1 {
				p.Steps[i].DependsOn = append(p.Steps[i].DependsOn, fmt.Sprint("s", i-2))
			}
		}
		b.Run(fmt.Sprintf("vertices-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g := p.graph()
				if !g.Ancestor(n-1, 0) {
					b.Fatal("no path")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/vertex")
		})
	}
}

// Err names the first problem in the order of the vertices, then a cycle, or nil.
func TestErr(t *testing.T) {
	for _, tt := range []struct {
		steps []string
		want  string
	}{
		{[]string{"a", "b<a", "c<a,b"}, ""},
		{[]string{"a", "a"}, `id "a" is used twice`},
		{[]string{"a<zz", "a"}, `"a" depends on unknown "zz"`},
		{[]string{"a", "b<b", "c<zz"}, `"b" depends on itself`},
		{[]string{"b<a", "a<b", "c"}, `"a" is on a dependency cycle`},
		{[]string{"b<a", "a<b", "c<c"}, `"c" depends on itself`},
	} {
		err := graphOf(tt.steps...).graph().Err()
		if got := fmt.Sprint(err); (err == nil) != (tt.want == "") || err != nil && got != tt.want {
			t.Errorf("%v: Err() = %v, want %q", tt.steps, err, tt.want)
		}
	}
}
