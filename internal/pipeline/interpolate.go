package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// A string of a step's input may use a param, `${params.NAME}`, or a matrix value,
// `${matrix.NAME}` or `${matrix.NAME.field.field}` for a field of a mapping value. One
// scanner and one substituter serve both namespaces.

// namespace is the kind of reference: its prefix, and whether fields may follow the name.
type namespace struct {
	prefix string
	fields bool
}

var (
	paramsNS = namespace{prefix: "${params.", fields: false}
	matrixNS = namespace{prefix: "${matrix.", fields: true}
)

// reference is one `${ns.NAME[.field...]}` of a string.
type reference struct {
	name       string
	fields     []string // nil without fields
	start, end int      // where it is written in the string
}

// text is the reference as written in s.
func (r reference) text(s string) string { return s[r.start:r.end] }

// whole reports whether the reference is all of s: then the value replaces the string,
// type included.
func (r reference) whole(s string) bool { return r.start == 0 && r.end == len(s) }

// scan returns the references of ns in s, and false when some `${ns.` starts none (a
// malformed reference).
func (ns namespace) scan(s string) ([]reference, bool) {
	if !strings.Contains(s, ns.prefix) {
		return nil, true
	}
	var refs []reference
	ok := true
	for i := 0; ; {
		k := strings.Index(s[i:], ns.prefix)
		if k < 0 {
			return refs, ok
		}
		start := i + k
		if r, good := ns.parseAt(s, start); good {
			refs = append(refs, r)
			i = r.end
			continue
		}
		ok = false
		i = start + 1
	}
}

// parseAt reads the reference that starts at s[start:] with the prefix.
func (ns namespace) parseAt(s string, start int) (reference, bool) {
	i := start + len(ns.prefix)
	n := nameEnd(s, i)
	if n == i {
		return reference{}, false
	}
	r := reference{name: s[i:n], start: start}
	for i = n; i < len(s) && s[i] == '.' && ns.fields; {
		e := nameEnd(s, i+1)
		if e == i+1 {
			return reference{}, false
		}
		r.fields = append(r.fields, s[i+1:e])
		i = e
	}
	if i >= len(s) || s[i] != '}' {
		return reference{}, false
	}
	r.end = i + 1
	return r, true
}

// nameEnd returns where the name that starts at s[i:] ends: a letter or _, then letters,
// digits, _ and - (i itself when none starts there).
func nameEnd(s string, i int) int {
	if i >= len(s) || !(isLetter(s[i]) || s[i] == '_') {
		return i
	}
	for i++; i < len(s) && (isLetter(s[i]) || s[i] == '_' || s[i] == '-' || (s[i] >= '0' && s[i] <= '9')); i++ {
	}
	return i
}

func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// validName reports whether s is a name as references write it.
func validName(s string) bool { return s != "" && nameEnd(s, 0) == len(s) }

// ValidParamName reports whether name can be a param: letters, digits, _ and -, starting
// with a letter or _ (what `${params.NAME}` can refer to).
func ValidParamName(name string) bool { return validName(name) }

// only returns the reference when it is all of s.
func (ns namespace) only(s string) (reference, bool) {
	refs, ok := ns.scan(s)
	if !ok || len(refs) != 1 || !refs[0].whole(s) {
		return reference{}, false
	}
	return refs[0], true
}

// interpolate returns x with the references of ns replaced by what lookup gives: a string
// that is only a reference becomes the value itself, type included; a reference inside a
// longer string is formatted into it (null as nothing). A reference lookup does not know is
// left as written. Maps and lists are copied where something in them changed; what did not
// change is shared with x. What it makes is charged to b as it is made: once b is spent,
// nothing more is substituted (b says so).
func (ns namespace) interpolate(x any, b *budget, lookup func(reference) (any, bool)) any {
	v, _ := ns.subst(x, b, lookup)
	return v
}

// subst is interpolate, and whether anything changed.
func (ns namespace) subst(x any, b *budget, lookup func(reference) (any, bool)) (any, bool) {
	switch t := x.(type) {
	case string:
		return ns.substString(t, b, lookup)
	case map[string]any:
		var out map[string]any
		for k, v := range t {
			if b.spent() {
				break
			}
			if nv, changed := ns.subst(v, b, lookup); changed {
				if out == nil {
					out = maps.Clone(t)
				}
				out[k] = nv
			}
		}
		if out == nil {
			return t, false
		}
		return out, true
	case []any:
		var out []any
		for i, v := range t {
			if b.spent() {
				break
			}
			if nv, changed := ns.subst(v, b, lookup); changed {
				if out == nil {
					out = slices.Clone(t)
				}
				out[i] = nv
			}
		}
		if out == nil {
			return t, false
		}
		return out, true
	}
	return x, false
}

// substString substitutes the references of t. The bytes of the result are charged to b
// as each piece is found, before the string is built (in one allocation); t is returned
// unchanged once b is spent.
func (ns namespace) substString(t string, b *budget, lookup func(reference) (any, bool)) (any, bool) {
	refs, _ := ns.scan(t)
	if len(refs) == 0 || b.spent() {
		return t, false
	}
	if len(refs) == 1 && refs[0].whole(t) {
		if v, ok := lookup(refs[0]); ok && b.takeValue(v, nil) {
			return v, true
		}
		return t, false
	}
	texts := make([]string, len(refs))
	size, changed := len(t), false
	for i, r := range refs {
		texts[i] = r.text(t)
		if v, ok := lookup(r); ok {
			changed, texts[i] = true, ""
			if str, isStr := v.(string); isStr {
				texts[i] = str
			} else if v != nil {
				texts[i] = fmt.Sprint(v)
			}
		}
		size += len(texts[i]) - (r.end - r.start)
		if size > b.left {
			b.take(size)
			return t, false
		}
	}
	if !changed || !b.take(size) {
		return t, false
	}
	var sb strings.Builder
	sb.Grow(size)
	last := 0
	for i, r := range refs {
		sb.WriteString(t[last:r.start])
		sb.WriteString(texts[i])
		last = r.end
	}
	sb.WriteString(t[last:])
	return sb.String(), true
}

// MaxExpandedBytes bounds what params and matrices make of a file's step inputs: the
// strings substitution writes, the values that replace whole references, and the input
// each matrix expansion copies from its step. It is counted as it is made, so a file that
// would expand past it is refused before the bytes exist.
const MaxExpandedBytes = 64 << 20

// budget counts the bytes substitution and expansion make against MaxExpandedBytes.
type budget struct {
	left     int
	over     bool
	reported bool // the problem is reported (once)
}

// tooBigText says why a file is refused when its expansion does not fit.
func tooBigText() string {
	return fmt.Sprintf("params and matrices expand this file's inputs past %d MiB, pi's bound on what substitution and matrix expansion make: reference a big value fewer times, make fewer expansions of a big input, or split the pipeline", MaxExpandedBytes>>20)
}

func newBudget() *budget { return &budget{left: MaxExpandedBytes} }

// spent reports whether something did not fit.
func (b *budget) spent() bool { return b.over }

// take charges n bytes; false, from then on, once they do not fit.
func (b *budget) take(n int) bool {
	if b.over || n > b.left {
		b.over = true
		return false
	}
	b.left -= n
	return true
}

// takeValue charges the size of v: a string its bytes, another scalar 8, a mapping its
// keys and values, a list its items (at least 1 each, so the walk costs no more than it
// charges), the strings skip accepts left out. It stops as soon as v does not fit.
func (b *budget) takeValue(v any, skip func(string) bool) bool {
	switch t := v.(type) {
	case string:
		if skip != nil && skip(t) {
			return !b.over
		}
		return b.take(max(len(t), 1))
	case map[string]any:
		for k, val := range t {
			if !b.take(len(k)+1) || !b.takeValue(val, skip) {
				return false
			}
		}
		return b.take(1)
	case []any:
		for _, val := range t {
			if !b.take(1) || !b.takeValue(val, skip) {
				return false
			}
		}
		return b.take(1)
	}
	return b.take(8)
}

// use is one reference found in a step: in a string of its input, or in its matrix.
type use struct {
	step int
	path string // of the string, from the step's top
	ref  reference
	text string // the reference as written
	// whole is set when the string is only the reference, so the value keeps its type.
	whole bool
}

// refUses are the references of a pipeline's steps, found once for validation and
// expansion.
type refUses struct {
	params []use
	matrix map[int][]use // by step index
}

// scanUses finds the references of every step's input, and the params that matrices take
// their values from, in key order.
func scanUses(p *Pipeline) *refUses {
	u := &refUses{}
	var parts []string
	for i := range p.Steps {
		s := &p.Steps[i]
		parts = append(parts[:0], "input")
		u.walk(i, s.Input, &parts, true)
		if s.Matrix == nil {
			continue
		}
		for _, ax := range s.Matrix.Axes {
			parts = append(parts[:0], "matrix", ax.Name)
			if ax.Param != "" {
				u.params = append(u.params, use{step: i, path: strings.Join(parts, "."), ref: reference{name: ax.Param}})
				continue
			}
			for j, item := range ax.Items {
				parts = append(parts[:2], strconv.Itoa(j))
				u.walk(i, item, &parts, false)
			}
		}
	}
	return u
}

// walk records the references in x, at the path parts; matrix ones only when matrix.
func (u *refUses) walk(step int, x any, parts *[]string, matrix bool) {
	switch t := x.(type) {
	case string:
		if !strings.Contains(t, "${") {
			return
		}
		path := strings.Join(*parts, ".")
		refs, _ := paramsNS.scan(t)
		for _, r := range refs {
			u.params = append(u.params, use{step: step, path: path, ref: r, text: r.text(t), whole: r.whole(t)})
		}
		if !matrix {
			return
		}
		refs, _ = matrixNS.scan(t)
		for _, r := range refs {
			if u.matrix == nil {
				u.matrix = map[int][]use{}
			}
			u.matrix[step] = append(u.matrix[step], use{step: step, path: path, ref: r, text: r.text(t), whole: r.whole(t)})
		}
	case map[string]any:
		if len(t) == 1 { // most are: no keys to sort
			for k, v := range t {
				*parts = append(*parts, k)
				u.walk(step, v, parts, matrix)
				*parts = (*parts)[:len(*parts)-1]
			}
			return
		}
		for _, k := range slices.Sorted(maps.Keys(t)) {
			*parts = append(*parts, k)
			u.walk(step, t[k], parts, matrix)
			*parts = (*parts)[:len(*parts)-1]
		}
	case []any:
		for i, v := range t {
			*parts = append(*parts, strconv.Itoa(i))
			u.walk(step, v, parts, matrix)
			*parts = (*parts)[:len(*parts)-1]
		}
	}
}
