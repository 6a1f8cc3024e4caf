package pipeline

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A matrix step is a template: `matrix: {culture: [fr, de], tier: [basic, premium]}` stands
// for one ordinary step per combination of the values (the cartesian product: keys in the
// order written, the first varying slowest, then list order). pi expands it before anything
// is validated as a graph, sent or run, so the server never sees a matrix and the user sees
// the concrete steps first (`pi validate`, `pi graph`, `pi run --dry-run`). This file holds
// the matrix as written: its types, decoding and schema; expand.go makes the steps, ids.go
// names them, interpolate.go substitutes ${matrix...}.

// MaxExpansions bounds the steps that matrices may expand to in one pipeline, so a file of
// a few lines cannot ask for millions of steps.
const MaxExpansions = 1000

// Matrix is the `matrix:` of a step, as written.
type Matrix struct {
	Axes []MatrixAxis // in the order written
}

// MatrixAxis is one key of a matrix and its values.
type MatrixAxis struct {
	Name string
	// Param is set when the values come from a param (`culture: ${params.cultures}`).
	Param string
	// Items are the listed values as decoded (params not substituted).
	Items []any
}

// Origin says which matrix step an expanded step was made from.
type Origin struct {
	Template string         // the id of the matrix step
	Index    int            // 1-based position of the combination in the product
	Count    int            // how many steps the matrix step expanded to
	Values   map[string]any // this combination: matrix key -> value (params substituted)
}

// MatrixSummary is one matrix step of a file and the number of steps it expanded to.
type MatrixSummary struct {
	Step  string
	Count int
}

// Expanded lists the matrix steps that were expanded into p, in file order (nil when p was
// not expanded or had no matrix).
func (p *Pipeline) Expanded() []MatrixSummary { return p.expanded }

// ExpansionNote says how the step count came about: "after expanding matrix of loc (11)",
// or "" without matrices.
func (p *Pipeline) ExpansionNote() string {
	if len(p.expanded) == 0 {
		return ""
	}
	parts := make([]string, len(p.expanded))
	for i, m := range p.expanded {
		parts[i] = fmt.Sprintf("%s (%d)", m.Step, m.Count)
	}
	if len(parts) == 1 {
		return "after expanding matrix of " + parts[0]
	}
	return "after expanding matrices of " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// matrix decodes a step's `matrix:` (at path).
func (d *decoder) matrix(s *Step, e entry, path uint32) {
	if e.val.Kind != yaml.MappingNode {
		d.errorf(e.valPos, CodeType, e.key, "matrix must be a mapping of names to lists of values, such as matrix: {culture: [fr, de]}, not %s", kindName(e.val))
		d.src.markReported(d.step, fMatrix)
		return
	}
	m := &Matrix{}
	s.Matrix = m
	entries := d.entries(e.val, path, 0, false)
	if len(entries) == 0 {
		d.errorf(e.valPos, CodeMatrixEmpty, e.key, "matrix has no keys: give it one, such as matrix: {culture: [fr, de]}, or remove it")
		d.src.markReported(d.step, fMatrix)
		return
	}
	for _, me := range entries {
		id := d.child(path, me.key)
		if !validName(me.key) {
			d.errorf(me.keyPos, CodeName, d.name(id), "matrix key %q is not a valid name: use letters, digits, _ and -, starting with a letter or _ (it is used as ${matrix.NAME})", me.key)
			d.src.markReported(d.step, fMatrix)
			continue
		}
		d.src.record(true, id, me.valPos, me.keyPos)
		ax, keep, ok := d.axis(s, me, id)
		if keep {
			m.Axes = append(m.Axes, ax)
		}
		if !ok {
			d.src.markReported(d.step, fMatrix)
		}
	}
}

// axis decodes one key of a matrix: a list of values, or a ${params.NAME} holding one. It
// is kept in the matrix when it is a list (even with bad items: they are reported) or a
// param; ok is false when a problem was reported.
func (d *decoder) axis(s *Step, me entry, path uint32) (ax MatrixAxis, keep, ok bool) {
	ax = MatrixAxis{Name: me.key}
	switch {
	case me.val.Kind == yaml.SequenceNode:
		if len(me.val.Content) == 0 {
			d.errorf(me.valPos, CodeMatrixEmpty, d.name(path), "matrix.%s is an empty list: give it at least one value (with none, step %s would not exist)", me.key, stepName(s.ID))
			return ax, false, false
		}
		ok = true
		d.refs = true
		for j, item := range me.val.Content {
			ri, at := resolve(item), pos(item)
			id := d.child(path, strconv.Itoa(j))
			d.src.record(true, id, at, Pos{})
			switch {
			case isNull(ri):
				d.errorf(at, CodeMatrixItem, d.name(id), "matrix.%s item %d is empty: give it a value", me.key, j+1)
				ok = false
			case ri.Kind == yaml.SequenceNode:
				d.errorf(at, CodeMatrixItem, d.name(id), "matrix.%s item %d is a list: an item is a value (culture: [fr, de]) or a mapping (locale: [{culture: fr, currency: EUR}])", me.key, j+1)
				ok = false
			}
			ax.Items = append(ax.Items, d.value(ri, at, id, 1))
		}
		d.refs = false
		return ax, true, ok
	case isString(me.val):
		if r, whole := paramsNS.only(me.val.Value); whole {
			ax.Param = r.name
			return ax, true, true
		}
	}
	hint := ""
	if me.val.Kind == yaml.ScalarNode && !isNull(me.val) {
		hint = fmt.Sprintf(" (write %s: [%s])", me.key, me.val.Value)
	}
	d.errorf(me.valPos, CodeType, d.name(path), "matrix.%s must be a list of values or a ${params.NAME} whose value is a list, not %s%s", me.key, kindName(me.val), hint)
	return ax, false, false
}

// matrixSchema is the JSON Schema of a step's `matrix:`.
func matrixSchema() map[string]any {
	return map[string]any{
		"description":   "Extension: the step stands for one step per combination of these values (keys in the order written, then list order), expanded by pi before anything is sent or run; ids are the step's id and the values (localize-fr). Use ${matrix.NAME}, or ${matrix.NAME.field} for a mapping item, in any string of input. depends_on a matrix step means all its expansions; a step with the same matrix pairs up with it item by item.",
		"type":          "object",
		"minProperties": 1,
		"propertyNames": map[string]any{"pattern": `^[A-Za-z_][A-Za-z0-9_-]*$`},
		"additionalProperties": map[string]any{
			"anyOf": []any{
				map[string]any{
					"type":     "array",
					"minItems": 1,
					"items":    map[string]any{"type": []string{"string", "number", "boolean", "object"}},
				},
				map[string]any{"type": "string", "pattern": `^\$\{params\.[A-Za-z_][A-Za-z0-9_-]*\}$`, "description": "A param whose value is a list: ${params.NAME}."},
			},
		},
	}
}
