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
