package pipeline

import (
	"reflect"
	"testing"
)

// NewGraph numbers steps by their index and follows depends_on by id (internal/dag tests
// the graph itself).
func TestNewGraph(t *testing.T) {
	p := &Pipeline{Steps: []Step{{ID: "b", DependsOn: []string{"a"}}, {ID: "a"}, {ID: "c", DependsOn: []string{"a", "b", "zz"}}}}
	g := NewGraph(p)
	if i, ok := g.Index("a"); !ok || i != 1 {
		t.Errorf("Index(a) = %d %v", i, ok)
	}
	if got := g.Deps(2); !reflect.DeepEqual(got, []int{1, 0}) {
		t.Errorf("deps of c = %v", got)
	}
	if got, want := p.Layers(), [][]string{{"a"}, {"b"}, {"c"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("layers %v, want %v", got, want)
	}
}

// Load's pipeline carries the graph its validation built and checked: Graph gives that
// one every time (the engine, pi graph and the planner build no other), also with params
// applied; a pipeline with other steps (a rewrite) gets a graph of its own steps.
func TestLoadCarriesItsGraph(t *testing.T) {
	src := []byte(`params: { tone: warm }
steps:
  - { id: a, action: brands.extract, input: { url: "https://example.com" } }
  - id: b
    action: campaigns.generate
    depends_on: [a]
    input: { prompt: "${params.tone}" }
    input_map: { brand_id: $steps.a.result.brand_id }
`)
	for _, params := range []map[string]string{nil, {"tone": "cold"}} {
		p, _, ds, err := Load("g.yaml", Options{Data: src, Params: params})
		if err != nil || p == nil {
			t.Fatalf("%v %v", ds, err)
		}
		g := p.Graph()
		if g == nil || p.Graph() != g || p.checked == nil || p.checked.g != g {
			t.Fatalf("params %v: Graph built again (%p, %p)", params, g, p.Graph())
		}
		if deps := g.Deps(1); len(deps) != 1 || deps[0] != 0 {
			t.Errorf("b's deps %v", deps)
		}
		q := *p
		q.Steps = []Step{p.Steps[1]}
		q.Steps[0].DependsOn = nil
		if qg := q.Graph(); qg == g || qg.Len() != 1 || len(qg.Deps(0)) != 0 {
			t.Errorf("a rewritten pipeline took the loaded one's graph")
		}
	}
}
