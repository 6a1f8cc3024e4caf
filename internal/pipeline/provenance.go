package pipeline

import (
	"fmt"
	"strconv"
	"strings"
)

// provenance says where the steps of an expanded pipeline come from in the parsed one, so
// a problem found in the expanded pipeline is placed where the file writes what made it.
type provenance struct {
	from []int              // by step: its index in the parsed pipeline (the matrix step's, for an expansion)
	exp  map[int]*expansion // by step, for the expansions of a matrix step
	// deps, by step whose depends_on expansion rewrote: the index of the entry of the
	// file each entry comes from.
	deps map[int][]int
	// unchecked are steps kept as they are written because their matrix is broken: their
	// input is not what would run, so it is not checked.
	unchecked map[int]bool
}

// expansion is one combination of a matrix step's values.
type expansion struct {
	g     *group
	combo []int // for each key of the matrix, the index of the value taken
}

// parsed is the index in the parsed pipeline of step i.
func (pv *provenance) parsed(i int) int {
	if pv == nil {
		return i
	}
	return pv.from[i]
}

// dep is the index in the file's depends_on of entry j of step i's.
func (pv *provenance) dep(i, j int) int {
	if pv == nil {
		return j
	}
	if from, ok := pv.deps[i]; ok {
		return from[j]
	}
	return j
}

func (pv *provenance) expansion(i int) *expansion {
	if pv == nil {
		return nil
	}
	return pv.exp[i]
}

// attribute gives where a problem found in expansion e was made: where the matrix value
// it took is written when the value at the problem's path came from one (innermost
// written value first: a string that used ${matrix.X}), else the path itself in the
// matrix step. A problem at an input key whose value used a matrix value is an error of
// that value too.
func attribute(src *Source, e *expansion, pr problem) (path string, key bool) {
	if !pr.key {
		if at, ok := src.innermost(pr.step, pr.path); ok {
			if name, ok := e.g.strings[at]; ok {
				return e.valuePath(name), false
			}
		}
		return pr.path, false
	}
	if pr.sev == Error {
		if name, ok := e.g.keys[pr.path]; ok {
			return e.valuePath(name), false
		}
	}
	return pr.path, true
}

// mergeExpansions makes the diagnostics of problems found in expansions (pr.exp > 0):
// each names its expansion, and a problem several expansions share (the same code, at the
// same place of the same matrix step) is said once, naming them all. Their messages speak
// of matrix steps by the ids the file writes ("add gen to depends_on", not "add gen-fr").
func mergeExpansions(name string, src *Source, p, x *Pipeline, prov *provenance, list []problem) Diagnostics {
	if len(list) == 0 {
		return nil
	}
	templates := map[string]string{} // expansion id -> its matrix step's
	for _, s := range x.Steps {
		if s.Origin != nil {
			templates[s.ID] = s.Origin.Template
		}
	}
	rename := func(id string) string {
		if t, ok := templates[id]; ok {
			return t
		}
		return id
	}
	type where struct {
		code     Code
		sev      Severity
		template int
		path     string
		key      bool
	}
	var order []where
	groups := map[where][]problem{}
	for _, pr := range list {
		pr.path, pr.key = attribute(src, prov.exp[pr.exp-1], pr)
		w := where{pr.code, pr.sev, pr.step, pr.path, pr.key}
		if _, seen := groups[w]; !seen {
			order = append(order, w)
		}
		groups[w] = append(groups[w], pr)
	}
	out := make(Diagnostics, 0, len(order))
	for _, w := range order {
		g := groups[w]
		var ids []string
		for _, pr := range g {
			if id := x.Steps[pr.exp-1].ID; len(ids) == 0 || ids[len(ids)-1] != id {
				ids = append(ids, id)
			}
		}
		d := placed(name, src, p, g[0], g[0].message(rename))
		o := x.Steps[g[0].exp-1].Origin
		switch {
		case len(g) == 1:
			d.Step = ids[0]
			d.Message += " (in expansion " + ids[0] + ")"
		case len(ids) == o.Count:
			d.Message += fmt.Sprintf(" (in all %d expansions of %s)", len(ids), o.Template)
		case len(ids) > 4:
			d.Message += fmt.Sprintf(" (in expansions %s and %d more)", strings.Join(ids[:3], ", "), len(ids)-3)
		default:
			d.Message += " (in expansions " + strings.Join(ids, ", ") + ")"
		}
		out = append(out, d)
	}
	return out
}

// atLine is ", line N" for a known position, else "".
func atLine(p Pos) string {
	if p.Line == 0 {
		return ""
	}
	return ", line " + strconv.Itoa(p.Line)
}
