package pipeline

// Layers groups step ids by depth in the DAG: the first layer has the steps without
// dependencies, each next layer the steps whose dependencies are all in earlier layers.
// Within a layer ids keep declaration order. Unknown dependencies are ignored and steps on
// a cycle are put after everything they can be ordered after, so a drawing of an invalid
// file still shows every step once.
func (p *Pipeline) Layers() [][]string {
	idx := make(map[string]int, len(p.Steps))
	for i, s := range p.Steps {
		if _, dup := idx[s.ID]; !dup {
			idx[s.ID] = i
		}
	}
	const (
		unvisited = -1
		visiting  = -2
	)
	depth := make([]int, len(p.Steps))
	for i := range depth {
		depth[i] = unvisited
	}
	type frame struct{ node, dep int }
	for root := range p.Steps {
		if depth[root] != unvisited {
			continue
		}
		// Iterative depth-first search, so a 1000-step chain does not recurse 1000 deep.
		stack := []frame{{root, 0}}
		depth[root] = visiting
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			deps := p.Steps[f.node].DependsOn
			if f.dep < len(deps) {
				j, ok := idx[deps[f.dep]]
				f.dep++
				if ok && depth[j] == unvisited {
					depth[j] = visiting
					stack = append(stack, frame{j, 0})
				}
				continue
			}
			d := 0
			for _, dep := range deps {
				if j, ok := idx[dep]; ok && depth[j] >= 0 {
					d = max(d, depth[j]+1)
				}
			}
			depth[f.node] = d
			stack = stack[:len(stack)-1]
		}
	}
	var layers [][]string
	for i, s := range p.Steps {
		for len(layers) <= depth[i] {
			layers = append(layers, nil)
		}
		layers[depth[i]] = append(layers[depth[i]], s.ID)
	}
	return layers
}
