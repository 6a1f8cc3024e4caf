package pipeline

import "github.com/pi-cli/pi/internal/dag"

// Graph is the dependency graph of a pipeline's steps (internal/dag): steps are numbered by
// their index in Pipeline.Steps; a later step with an earlier one's id is a duplicate.
type Graph = dag.Graph

// NewGraph builds the graph of p's steps. A pipeline Load returns carries the graph its
// validation built and checked: ask it with p.Graph() instead of building another.
func NewGraph(p *Pipeline) *Graph {
	return dag.New(len(p.Steps), func(i int) string { return p.Steps[i].ID },
		func(i int) []string { return p.Steps[i].DependsOn })
}

// checkedGraph is the graph validation built for a pipeline's steps, and which steps: a
// copy of the pipeline with other steps (a rewrite, a subset) does not take it for its own.
type checkedGraph struct {
	g     *Graph
	first *Step // &Steps[0] when it was built
	n     int
}

// Graph is the graph of p's steps: the one Load's validation built and checked (so each
// command builds it once, for validation, the engine and its views alike), or a new one
// for a pipeline built in code or with other steps than Load gave it.
func (p *Pipeline) Graph() *Graph {
	if c := p.checked; c != nil && c.n == len(p.Steps) && c.n > 0 && c.first == &p.Steps[0] {
		return c.g
	}
	return NewGraph(p)
}

// keepGraph records g, built from steps with the ids and dependencies of p's, as p's.
func (p *Pipeline) keepGraph(g *Graph) {
	if g != nil && len(p.Steps) > 0 && g.Len() == len(p.Steps) {
		p.checked = &checkedGraph{g: g, first: &p.Steps[0], n: len(p.Steps)}
	}
}

// Layers is Graph.Layers by step id.
func (p *Pipeline) Layers() [][]string {
	layers := p.Graph().Layers()
	out := make([][]string, 0, len(layers))
	for _, layer := range layers {
		ids := make([]string, len(layer))
		for k, i := range layer {
			ids[k] = p.Steps[i].ID
		}
		out = append(out, ids)
	}
	return out
}
