package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// group is a matrix step being expanded.
type group struct {
	tmpl    *Step
	index   int // of the matrix step in the parsed pipeline
	axes    []resolvedAxis
	sig     map[string]string // key -> its set of values, for pairing
	ids     []string          // expansion ids in product order
	byCombo map[string]string // canonical combination -> expansion id
	uses    []use             // the ${matrix...} of its input
	// strings maps the path of each input string that uses the matrix to the key of its
	// first reference, and keys each input key whose value does: a problem found there in
	// an expansion was made by that key's value (provenance.go).
	strings, keys map[string]string
}

type resolvedAxis struct {
	name   string
	values []any
	paths  []string // where each value is written, from the step: matrix.NAME.j, or matrix.NAME for a param
	keys   []string // canonical(values[i]), computed once
}

type expander struct {
	probs  problems
	p      *Pipeline
	src    *Source
	values map[string]any
	uses   *refUses
	taken  map[string]bool
	groups map[string]*group
	total  int
	prov   *provenance
	// mapErr remembers the input_map keys already reported, so the expansions of one
	// template report the problem once.
	mapErr map[string]bool
	// budget counts what substitution and expansion make (MaxExpandedBytes); the validator
	// goes on charging it.
	budget *budget
}

// hasMatrix reports whether p has anything expansion must look at.
func hasMatrix(p *Pipeline, src *Source, u *refUses) bool {
	if len(u.matrix) > 0 {
		return true
	}
	for i := range p.Steps {
		if p.Steps[i].Matrix != nil || src.wasReported(i, fMatrix) {
			return true
		}
	}
	return false
}

// expand returns p with every matrix step replaced by its expansions, params taken from
// values; with how the steps came from p's (nil when p has no matrix and is returned as
// it is), and the matrices' own problems. Input strings keep their ${params.NAME}
// references; ${matrix...} ones are replaced.
func expand(p *Pipeline, src *Source, values map[string]any, u *refUses, b *budget) (*Pipeline, *provenance, []problem) {
	if !hasMatrix(p, src, u) {
		return p, nil, nil
	}
	x := &expander{p: p, src: src, values: values, uses: u, taken: map[string]bool{}, groups: map[string]*group{}, mapErr: map[string]bool{}, budget: b,
		prov: &provenance{exp: map[int]*expansion{}, deps: map[int][]int{}, unchecked: map[int]bool{}}}
	counts := map[string]int{}
	for i := range p.Steps {
		counts[p.Steps[i].ID]++
	}
	// A template whose id is itself a problem stays one step, so validation reports it.
	expandable := func(i int) bool {
		s := &p.Steps[i]
		n := utf8.RuneCountInString(s.ID)
		return s.Matrix != nil && !src.wasReported(i, fID) && n > 0 && n <= MaxIDLength && counts[s.ID] == 1
	}
	for i := range p.Steps {
		if !expandable(i) {
			x.taken[p.Steps[i].ID] = true
		}
	}
	out := make([]Step, 0, len(p.Steps))
	var summary []MatrixSummary
	for i := range p.Steps {
		steps, g := x.step(i, expandable(i), len(out))
		out = append(out, steps...)
		if g != nil {
			summary = append(summary, MatrixSummary{Step: g.tmpl.ID, Count: len(g.ids)})
		}
	}
	for i := range out {
		x.rewrite(&out[i], i)
	}
	q := *p
	q.Steps = out
	q.expanded = summary
	return &q, x.prov, x.probs.result()
}

// step gives what step i of the file becomes: its expansions, or itself; at is the index
// its first step will have in the expanded pipeline.
func (x *expander) step(i int, expandable bool, at int) ([]Step, *group) {
	s := &x.p.Steps[i]
	uses := x.uses.matrix[i]
	kept := func(unchecked bool) []Step {
		x.prov.from = append(x.prov.from, i)
		if unchecked {
			x.prov.unchecked[at] = true // its input is not what will run: not checked
		}
		return []Step{*s}
	}
	switch {
	case s.Matrix == nil && x.src.wasReported(i, fMatrix):
		return kept(true), nil // matrix: was not a mapping (reported): its references are not the problem
	case s.Matrix == nil:
		for _, u := range uses {
			x.errorf(i, u.path, CodeMatrixRef, "%s in step %s, which has no matrix: add one (matrix: {%s: [...]}) or remove the reference", u.text, stepName(s.ID), u.ref.name)
		}
		return kept(false), nil
	}
	g := x.group(i, uses, expandable)
	if g == nil {
		return kept(true), nil // kept as one step, reported
	}
	x.groups[s.ID] = g
	return x.steps(g, at), g
}

func (x *expander) errorf(step int, path string, code Code, format string, args ...any) {
	x.probs.add(problem{code: code, sev: Error, step: step, path: path, format: format, args: args})
}

func (x *expander) warnf(step int, path string, key bool, code Code, format string, args ...any) {
	x.probs.add(problem{code: code, sev: Warning, step: step, path: path, key: key, format: format, args: args})
}

// group resolves the matrix of step i, checks its references and names its expansions;
// nil when it cannot be expanded (the problem is reported).
func (x *expander) group(i int, uses []use, expandable bool) *group {
	s := &x.p.Steps[i]
	g := &group{tmpl: s, index: i, uses: uses, byCombo: map[string]string{}}
	ok := !x.src.wasReported(i, fMatrix) && expandable
	for _, ax := range s.Matrix.Axes {
		ra, good := x.resolveAxis(i, ax)
		ok = ok && good
		g.axes = append(g.axes, ra)
	}
	if !ok {
		return nil
	}
	n := 1
	for _, ax := range g.axes {
		n *= len(ax.values)
		if n > MaxExpansions {
			break
		}
	}
	if x.total+n > MaxExpansions {
		x.errorf(i, "matrix", CodeMatrixTooBig, "the matrix of step %s expands to %s: pi expands at most %d steps in a pipeline", stepName(s.ID), countText(n), MaxExpansions)
		return nil
	}
	x.total += n
	if !x.checkUses(g) {
		return nil
	}
	g.sig = signature(g.axes)
	g.strings, g.keys = matrixStrings(s.Input, uses)
	return g
}

func countText(n int) string {
	if n > MaxExpansions {
		return fmt.Sprintf("more than %d steps", MaxExpansions)
	}
	return plural(n, "step")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// resolveAxis gives the axis's values with params substituted.
func (x *expander) resolveAxis(i int, ax MatrixAxis) (resolvedAxis, bool) {
	ra := resolvedAxis{name: ax.Name}
	at := "matrix." + ax.Name
	if ax.Param != "" {
		return x.paramAxis(i, ax)
	}
	good := true
	for j, item := range ax.Items {
		var missing []string
		val := substituteParams(item, x.values, &missing, x.budget)
		if x.budget.spent() {
			x.tooBig(i, at+"."+strconv.Itoa(j))
			return ra, false
		}
		if len(missing) > 0 {
			good = false // an undefined param: validation reports it
		}
		itemAt := at + "." + strconv.Itoa(j)
		if strings.Contains(canonical(item), "${matrix.") {
			x.errorf(i, itemAt, CodeMatrixSelfRef, "matrix.%s item %d uses ${matrix...}: a matrix value cannot refer to the matrix (write the value itself)", ax.Name, j+1)
			good = false
			continue
		}
		if problem := itemProblem(val); problem != "" && len(missing) == 0 {
			x.errorf(i, itemAt, CodeMatrixItem, "matrix.%s item %d %s", ax.Name, j+1, problem)
			good = false
		}
		ra.values = append(ra.values, val)
		ra.paths = append(ra.paths, itemAt)
	}
	return ra, good && x.distinct(i, &ra)
}

// paramAxis gives the values of an axis that takes them from a param.
func (x *expander) paramAxis(i int, ax MatrixAxis) (resolvedAxis, bool) {
	ra := resolvedAxis{name: ax.Name}
	at := "matrix." + ax.Name
	val, defined := x.values[ax.Param]
	if !defined {
		return ra, false // an undefined param: validation reports it
	}
	list, isList := val.([]any)
	switch {
	case !isList:
		x.errorf(i, at, CodeMatrixParam, "matrix.%s takes its values from ${params.%s}, which is %s, not a list: give the param a list (params: {%s: [a, b]}, or -p %s='[a, b]')", ax.Name, ax.Param, describeValue(val), ax.Param, ax.Param)
		return ra, false
	case len(list) == 0:
		x.errorf(i, at, CodeMatrixParam, "matrix.%s takes its values from ${params.%s}, which is an empty list: give it at least one value (with none, step %s would not exist)", ax.Name, ax.Param, stepName(x.p.Steps[i].ID))
		return ra, false
	}
	good := true
	for j, item := range list {
		if problem := itemProblem(item); problem != "" {
			x.errorf(i, at, CodeMatrixParam, "matrix.%s: item %d of ${params.%s} %s", ax.Name, j+1, ax.Param, problem)
			good = false
		}
		ra.values = append(ra.values, item)
		ra.paths = append(ra.paths, at)
	}
	return ra, good && x.distinct(i, &ra)
}

// itemProblem says why a value cannot be a matrix item, or "".
func itemProblem(v any) string {
	switch v.(type) {
	case nil:
		return "is empty: give it a value"
	case []any:
		return "is a list: an item is a value (culture: [fr, de]) or a mapping (locale: [{culture: fr, currency: EUR}])"
	}
	return ""
}

// distinct reports values listed twice: they would make two identical steps.
func (x *expander) distinct(i int, ra *resolvedAxis) bool {
	seen := map[string]int{}
	ok := true
	ra.keys = make([]string, len(ra.values))
	for j, v := range ra.values {
		k := canonical(v)
		ra.keys[j] = k
		if first, dup := seen[k]; dup {
			x.errorf(i, ra.paths[j], CodeMatrixDup, "matrix.%s lists %s twice (items %d and %d): each value makes one step, remove one", ra.name, truncate(k, 40), first+1, j+1)
			ok = false
			continue
		}
		seen[k] = j
	}
	return ok
}

// checkUses reports references to unknown keys or fields and warns about keys the input
// never uses. It returns false when the step cannot be expanded.
func (x *expander) checkUses(g *group) bool {
	s, i := g.tmpl, g.index
	names := make([]string, len(g.axes))
	for k, ax := range g.axes {
		names[k] = ax.name
	}
	used := map[string]bool{}
	ok, unknown := true, false
	for _, u := range g.uses {
		ax := g.axis(u.ref.name)
		if ax == nil {
			unknown = true
			x.errorf(i, u.path, CodeMatrixRef, "unknown matrix key %q in %s%s", u.ref.name, u.text, suggestOr(u.ref.name, names, "the matrix of step "+strconv.Quote(s.ID)+" has "+strings.Join(names, ", ")))
			ok = false
			continue
		}
		used[u.ref.name] = true
		ok = x.checkFields(g, ax, u) && ok
	}
	// A key that a matrix step this one depends on also has is used: for pairing.
	for _, dep := range s.DependsOn {
		for k := range x.p.Steps {
			if d := &x.p.Steps[k]; d.ID == dep && d.Matrix != nil && d != s {
				for _, ax := range d.Matrix.Axes {
					used[ax.Name] = true
				}
			}
		}
	}
	for _, ax := range s.Matrix.Axes {
		if !used[ax.Name] && !unknown { // a misspelt reference is the likelier problem
			x.warnf(i, "matrix."+ax.Name, true, CodeMatrixUnused, "matrix key %q is not used in the input of step %s, nor shared with a matrix step it depends on: its expansions differ only in their ids (use ${matrix.%s} in input, or remove the key)", ax.Name, stepName(s.ID), ax.Name)
		}
	}
	return ok
}

// checkFields reports the values of ax that use u cannot take from: a missing field, or a
// mapping written inside a longer string.
func (x *expander) checkFields(g *group, ax *resolvedAxis, u use) bool {
	ok := true
	for j, v := range ax.values {
		val, problem := field(v, u.ref.fields)
		if problem == "" && !u.whole {
			if _, isMap := val.(map[string]any); isMap {
				problem = "is a mapping, which cannot be written inside a longer string: use one of its fields, such as ${matrix." + u.ref.name + ".FIELD}"
			}
		}
		if problem != "" {
			line := atLine(x.src.stepPos(g.index, u.path, false))
			x.errorf(g.index, ax.paths[j], CodeMatrixField, "matrix.%s item %d %s (for %s in the input of step %s%s)", u.ref.name, j+1, problem, u.text, stepName(g.tmpl.ID), line)
			ok = false
		}
	}
	return ok
}

// comboKey identifies a combination of g's keys by their values (keys: name -> canonical
// value; other names are ignored).
func (g *group) comboKey(keys func(name string) string) string {
	var b strings.Builder
	for _, ax := range g.axes {
		b.WriteString(keys(ax.name))
		b.WriteByte(0)
	}
	return b.String()
}

func (g *group) axis(name string) *resolvedAxis {
	for i := range g.axes {
		if g.axes[i].name == name {
			return &g.axes[i]
		}
	}
	return nil
}

// field walks path into a matrix value.
func field(v any, path []string) (any, string) {
	for i, f := range path {
		m, ok := v.(map[string]any)
		if !ok {
			if i == 0 {
				return nil, fmt.Sprintf("is %s, which has no field %q", describeValue(v), f)
			}
			return nil, fmt.Sprintf("has no mapping at %s, so no field %q", strings.Join(path[:i], "."), f)
		}
		val, found := m[f]
		if !found {
			keys := slices.Sorted(maps.Keys(m))
			return nil, fmt.Sprintf("has no field %q%s", strings.Join(path[:i+1], "."), suggestOr(f, keys, "it has "+strings.Join(keys, ", ")))
		}
		v = val
	}
	return v, ""
}

func describeValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", truncate(t, 40))
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%v (%s)", v, strings.TrimPrefix(typeName(v), "a "))
}

// steps makes the expansions of g, in product order; at is the index the first will have
// in the expanded pipeline.
func (x *expander) steps(g *group, at int) []Step {
	s := g.tmpl
	n := 1
	for _, ax := range g.axes {
		n *= len(ax.values)
	}
	combos := make([][]int, n)
	idx := make([]int, len(g.axes))
	for c := range n {
		combos[c] = slices.Clone(idx)
		for a := len(idx) - 1; a >= 0; a-- { // the last key varies fastest
			idx[a]++
			if idx[a] < len(g.axes[a].values) {
				break
			}
			idx[a] = 0
		}
	}
	g.ids = ids(s.ID, g, combos, x.taken, x.src.writtenOrder(g.index))
	out := make([]Step, n)
	for c, combo := range combos {
		vals := make(map[string]any, len(g.axes))
		for a, ax := range g.axes {
			vals[ax.name] = ax.values[combo[a]]
		}
		e := *s
		e.ID = g.ids[c]
		e.Matrix = nil
		e.Origin = &Origin{Template: s.ID, Index: c + 1, Count: n, Values: vals}
		if s.Input != nil && !x.budget.spent() {
			// An expansion copies its step's input (the strings it substitutes are charged
			// as they are written).
			if x.budget.takeValue(s.Input, usesMatrix) {
				e.Input = substituteMatrix(s.Input, vals, x.budget).(map[string]any)
			}
			if x.budget.spent() {
				x.tooBig(g.index, "input")
			}
		}
		exp := &expansion{g: g, combo: combo}
		g.byCombo[g.comboKey(exp.key)] = e.ID
		x.prov.from = append(x.prov.from, g.index)
		x.prov.exp[at+c] = exp
		out[c] = e
	}
	return out
}

// signature identifies each key of a matrix by its set of values: a step pairs up item by
// item with a matrix step whose every key it has, with the same values.
func signature(axes []resolvedAxis) map[string]string {
	m := make(map[string]string, len(axes))
	for _, ax := range axes {
		vals := make([]string, len(ax.values))
		for i, v := range ax.values {
			vals[i] = canonical(v)
		}
		sort.Strings(vals)
		m[ax.name] = canonical(vals)
	}
	return m
}

// substituteMatrix returns input with ${matrix...} references replaced by the
// combination's values (interpolate.go): a string that is only a reference takes the
// value itself, type included.
func substituteMatrix(input any, vals map[string]any, b *budget) any {
	return matrixNS.interpolate(input, b, func(r reference) (any, bool) {
		v, ok := vals[r.name]
		if !ok {
			return nil, false
		}
		v, problem := field(v, r.fields)
		return v, problem == ""
	})
}

// usesMatrix reports whether s has a ${matrix...} reference.
func usesMatrix(s string) bool { return strings.Contains(s, matrixNS.prefix) }

// tooBig reports, once, that the file expands past MaxExpandedBytes, at step i's path.
func (x *expander) tooBig(i int, path string) {
	if !x.budget.reported {
		x.budget.reported = true
		x.errorf(i, path, CodeExpansionTooBig, "%s (at step %s)", tooBigText(), stepName(x.p.Steps[i].ID))
	}
}

// matrixStrings maps the path of each input string that uses the matrix to the key of
// its first reference, and "input.KEY" to the first key the value of input KEY uses (in
// key order).
func matrixStrings(input map[string]any, uses []use) (strs, keys map[string]string) {
	strs, keys = map[string]string{}, map[string]string{}
	for _, u := range uses { // in key order, each string's references in the order written
		if _, seen := strs[u.path]; !seen {
			strs[u.path] = u.ref.name
		}
		key, _, _ := strings.Cut(strings.TrimPrefix(u.path, "input."), ".")
		top := "input." + key
		if _, seen := keys[top]; !seen {
			keys[top] = u.ref.name
		}
	}
	return strs, keys
}
