package engine

import (
	"errors"
	"maps"
	"slices"

	"github.com/pi-cli/pi/internal/pipeline"
)

// resolve builds the input of step i: a copy of its input with input_map applied as the
// server does it.
func (r *Runner) resolve(i int) (map[string]any, error) {
	st := &r.p.Steps[i]
	in := make(map[string]any, len(st.Input)+len(st.InputMap))
	maps.Copy(in, st.Input)
	if len(st.InputMap) == 0 {
		return in, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, key := range slices.Sorted(maps.Keys(st.InputMap)) {
		expr := st.InputMap[key]
		ref, ok := pipeline.ParseRef(expr)
		if !ok {
			return nil, Permanent(errors.New("invalid_input_map_expression:" + expr))
		}
		j, ok := r.g.Index(ref.Step)
		if !ok || !r.state.Steps[j].Status.Succeeded() {
			return nil, Permanent(errors.New("missing_input_map_source:" + ref.Step))
		}
		// As on the server, a path that leads nowhere is undefined: the key is absent (and
		// replaces a value of input), while a null it leads to stays null, which the
		// action's schema refuses even for an optional input.
		if v, found := walkPath(r.state.Steps[j].Result, ref.Path); found {
			in[key] = v
		} else {
			delete(in, key)
		}
	}
	return in, nil
}

// walkPath follows path through nested objects; anything else on the way, or a missing
// key, is not found (the server has no array indexes).
func walkPath(result map[string]any, path []string) (any, bool) {
	if result == nil {
		return nil, false
	}
	var v any = result
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
}
