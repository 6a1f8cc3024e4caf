package pipeline

import (
	"maps"
	"slices"
	"strings"
)

// rewrite points depends_on and input_map of step i of the expanded pipeline at the
// expansions: every expansion of a matrix step it depends on (fan-in), or the one with
// the same values when both have the same matrix (item-wise pairing).
func (x *expander) rewrite(s *Step, i int) {
	own := x.prov.exp[i]
	// Pairing also works when the other matrix has only some of this one's keys (the same
	// values for each): hero over sizes, localize over sizes and cultures.
	paired := func(g *group) (string, bool) {
		if own == nil {
			return "", false
		}
		for name, sig := range g.sig {
			if own.g.sig[name] != sig {
				return "", false
			}
		}
		return g.byCombo[g.comboKey(own.key)], true
	}
	x.rewriteDeps(s, i, paired)
	x.rewriteInputMap(s, i, paired)
}

func (x *expander) rewriteDeps(s *Step, i int, paired func(*group) (string, bool)) {
	if len(s.DependsOn) == 0 {
		return
	}
	deps := make([]string, 0, len(s.DependsOn))
	from := make([]int, 0, len(s.DependsOn)) // the entry of the file each comes from
	changed := false
	for j, dep := range s.DependsOn {
		g := x.groups[dep]
		if g == nil {
			deps, from = append(deps, dep), append(from, j)
			continue
		}
		changed = true
		if id, ok := paired(g); ok {
			deps, from = append(deps, id), append(from, j)
			continue
		}
		for _, id := range g.ids {
			deps, from = append(deps, id), append(from, j)
		}
	}
	if changed {
		s.DependsOn = deps
		x.prov.deps[i] = from
	}
}

func (x *expander) rewriteInputMap(s *Step, i int, paired func(*group) (string, bool)) {
	var im map[string]string
	for _, k := range slices.Sorted(maps.Keys(s.InputMap)) {
		expr := s.InputMap[k]
		ref, ok := ParseRef(expr)
		if !ok {
			continue
		}
		g := x.groups[ref.Step]
		if g == nil {
			continue
		}
		id, ok := paired(g)
		if !ok {
			id = g.ids[0]
			if len(g.ids) > 1 {
				x.unpaired(s, i, k, expr, ref, g)
			}
		}
		if im == nil {
			im = maps.Clone(s.InputMap)
		}
		im[k] = refString(id, ref.Path)
	}
	if im != nil {
		s.InputMap = im
	}
}

// unpaired reports input_map.k of step i, which maps a matrix step's result that is not
// one: the expansions of one template report it once.
func (x *expander) unpaired(s *Step, i int, k, expr string, ref Ref, g *group) {
	name := s.ID
	if s.Origin != nil {
		name = s.Origin.Template
	}
	key := name + "\x00" + k
	if x.mapErr[key] {
		return
	}
	x.mapErr[key] = true
	x.errorf(x.prov.parsed(i), "input_map."+k, CodeMatrixUnpaired, "step %s maps %s, but %s is a matrix step with %d expansions: give %s the same matrix, or depend on %s without mapping it", name, expr, ref.Step, len(g.ids), name, ref.Step)
}

func refString(step string, path []string) string {
	if len(path) == 0 {
		return "$steps." + step + ".result"
	}
	return "$steps." + step + ".result." + strings.Join(path, ".")
}

// key is the canonical value this expansion took for the matrix key name ("" when its
// matrix has no such key).
func (e *expansion) key(name string) string {
	for a := range e.g.axes {
		if e.g.axes[a].name == name {
			return e.g.axes[a].keys[e.combo[a]]
		}
	}
	return ""
}

// valuePath is where the value this expansion took for the matrix key name is written,
// from the matrix step's top ("matrix.culture.1").
func (e *expansion) valuePath(name string) string {
	for a := range e.g.axes {
		if e.g.axes[a].name == name {
			return e.g.axes[a].paths[e.combo[a]]
		}
	}
	return "matrix." + name
}
