package pipeline

import "github.com/pi-cli/pi/internal/dag"

// Graph is the dependency graph of a pipeline's steps (internal/dag): steps are numbered by
// their index in Pipeline.Steps; a later step with an earlier one's id is a duplicate.
type Graph = dag.Graph

// NewGraph builds the graph of p's steps, once; validation, the engine and `pi graph` ask it.
func NewGraph(p *Pipeline) *Graph {
	return dag.New(len(p.Steps), func(i int) string { return p.Steps[i].ID },
		func(i int) []string { return p.Steps[i].DependsOn })
}

// Layers is Graph.Layers by step id.
func (p *Pipeline) Layers() [][]string {
	layers := NewGraph(p).Layers()
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
