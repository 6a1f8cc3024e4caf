package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// fieldSet marks step fields whose decoding already reported a problem.
type fieldSet uint8

const (
	fID fieldSet = 1 << iota
	fAction
	fInput
	fDependsOn
	fInputMap
	fMatrix
	fTimeout
)

func (s fieldSet) has(f fieldSet) bool { return s&f != 0 }

// The keys the file may hold at each level; anything else is an error, because the
// server drops unknown keys without a word.
var (
	topKeys   = []string{"params", "steps", "metadata"}
	stepKeys  = []string{"id", "action", "input", "depends_on", "input_map", "retry", "timeout", "matrix", "cache"}
	retryKeys = []string{"max_attempts", "backoff"}
)

// Limits on what decoding expands, so a hostile file (alias bombs, deep nesting) cannot
// exhaust memory or the stack.
const (
	maxNodes = 200_000
	maxDepth = 200
)

// The patterns are compiled on first use, so commands that never read a pipeline (pi
// version, completion) pay nothing for them at start-up.
var yamlLine = lazyRegexp{expr: `^(?:yaml: )?line (\d+): `}

func yamlLinePattern() *regexp.Regexp { return yamlLine.get() }

// lazyRegexp is a pattern compiled on first use. It is a plain value, so declaring one
// allocates nothing at package initialisation (sync.OnceValue would).
type lazyRegexp struct {
	expr string
	once sync.Once
	re   *regexp.Regexp
}

func (l *lazyRegexp) get() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompile(l.expr) })
	return l.re
}

// Parse decodes a pipeline file named name (used in diagnostics and as Pipeline.Name),
// with the Source of its positions. It reports problems of form: YAML syntax, duplicate
// keys, several documents, unknown keys and values of the wrong type. The pipeline is nil
// only when the file cannot be read as a mapping at all; otherwise it holds everything that
// could be decoded, and validation checks the meaning. Diagnostics are sorted by position.
func Parse(name string, data []byte) (*Pipeline, *Source, Diagnostics) {
	p, src, probs := parse(name, data)
	return p, src, finish(name, src, p, p, nil, probs, nil, nil)
}

// parse is Parse before its problems are made diagnostics: a big file in pieces when it
// can (chunked.go), else whole.
func parse(name string, data []byte) (*Pipeline, *Source, []problem) {
	n := items(data)
	if n > MaxItems {
		// Too big to parse in one piece: in pieces or not at all (ReadLimited refuses such a
		// file before it gets here; data from elsewhere is refused the same way).
		if err := checkItems(name, data, n); err != nil {
			return nil, &Source{Name: name, Data: data}, []problem{{code: CodeTooBig, sev: Error, step: -1, format: "%s", args: []any{err.Error()}}}
		}
		p, src, probs, _ := chunker{per: chunkItems, must: true}.parse(name, data, n)
		return p, src, probs
	}
	if len(data) >= chunkedMin {
		if p, src, _, ok := (chunker{per: chunkItems}).parse(name, data, n); ok {
			return p, src, nil
		}
	}
	return parseWhole(name, data, n)
}

// parseWhole decodes the file in one piece.
func parseWhole(name string, data []byte, written int) (*Pipeline, *Source, []problem) {
	d := newDecoder(name, data, written)
	p := d.parse(name, data)
	return p, d.src, d.probs.result()
}

type decoder struct {
	probs problems
	src   *Source
	data  []byte
	nodes int // nodes expanded so far, against valueLimit
	// written is how many lines and flow items the file has: values it writes itself are
	// not expansions, and a big file may hold more than maxNodes of them.
	written int
	// step is the index of the step being decoded, -1 outside the steps: its values are
	// recorded in src, and the problems found are the step's.
	step int
	// inputs are the small inputs decoded so far, by inputKey: steps share equal ones.
	inputs map[string]map[string]any
	// inInput is set while a step's input is decoded: its strings may use ${matrix...};
	// refs while its strings may use ${params...} (input and matrix values).
	inInput, refs bool
}

func newDecoder(name string, data []byte, written int) *decoder {
	return &decoder{src: &Source{Name: name, Data: data}, data: data, written: written, step: -1}
}

// valueLimit is how many values decoding may produce: maxNodes more than twice what the
// file writes (a flow item or a line holds at most two: a key and its value, or an item
// and the collection it opens), so only aliases can reach it.
func (d *decoder) valueLimit() int { return maxNodes + 2*d.written }

// report records a problem at a position decoding knows; path is from the current step
// (or the file's top outside the steps).
func (d *decoder) report(sev Severity, at Pos, code Code, path string, format string, args ...any) {
	d.probs.add(problem{code: code, sev: sev, step: d.step, path: path, pos: at, format: format, args: args})
}

func (d *decoder) errorf(at Pos, code Code, path string, format string, args ...any) {
	d.report(Error, at, code, path, format, args...)
}

func (d *decoder) warnf(at Pos, code Code, path string, format string, args ...any) {
	d.report(Warning, at, code, path, format, args...)
}

// child is the id of a path below parent, interned in the Source.
func (d *decoder) child(parent uint32, part string) uint32 { return d.src.paths.child(parent, part) }

func (d *decoder) name(path uint32) string { return d.src.paths.name(path) }

type entry struct {
	key    string
	keyPos Pos
	val    *yaml.Node // aliases resolved
	valPos Pos        // where the value is written (the alias, for an alias)
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Column: n.Column} }

func (d *decoder) parse(name string, data []byte) *Pipeline {
	root := d.document(data)
	if root == nil {
		return nil
	}
	p := &Pipeline{Name: name}
	for _, e := range d.entries(root, 0, 0, false) {
		id := d.child(0, e.key)
		switch e.key {
		case "params":
			d.src.record(false, id, e.valPos, e.keyPos)
			d.params(p, e, id)
		case "steps":
			d.src.record(false, id, e.valPos, e.keyPos)
			d.steps(p, e)
		case "metadata":
			d.src.record(false, id, e.valPos, e.keyPos)
			if isNull(e.val) {
				continue
			}
			if e.val.Kind != yaml.MappingNode {
				d.errorf(e.valPos, CodeType, e.key, "metadata must be a mapping, not %s", kindName(e.val))
				continue
			}
			v, _ := d.value(e.val, e.valPos, id, 0).(map[string]any)
			p.Metadata = v
		default:
			if strings.HasPrefix(e.key, "x-") {
				continue // a place for anchors (x-defaults: &defaults ...), as in compose files
			}
			d.errorf(e.keyPos, CodeUnknownKey, e.key, "unknown top-level key %q%s: a pipeline file has params, steps, metadata and x-* keys for anchors", e.key, suggest(e.key, topKeys))
		}
	}
	return p
}

// document reads the one YAML document of the file and returns its top-level mapping, or
// nil (reported) when there is none.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(Pos{1, 1}, CodeEmpty, "", "the file is empty: a pipeline needs steps (see 'pi schema')")
		} else {
			d.yamlError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		at := pos(&next)
		if len(next.Content) > 0 {
			at = pos(next.Content[0])
		}
		d.errorf(d.clamp(at), CodeDocuments, "", "a second YAML document starts here: a pipeline file holds exactly one (remove the '---' and what follows, or split the file)")
	case !errors.Is(err, io.EOF):
		d.yamlError(err)
	}
	if len(doc.Content) == 0 {
		d.errorf(Pos{1, 1}, CodeEmpty, "", "the file is empty: a pipeline needs steps (see 'pi schema')")
		return nil
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		d.errorf(d.clamp(pos(doc.Content[0])), CodeEmpty, "", "the file is empty: a pipeline needs steps (see 'pi schema')")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(pos(doc.Content[0]), CodeType, "", "the top level must be a mapping with steps (and optionally params and metadata), not %s", kindName(root))
		return nil
	}
	return root
}

// yamlError turns a yaml.v3 error into a diagnostic at the line it names.
func (d *decoder) yamlError(err error) {
	msg := err.Error()
	at := Pos{1, 1}
	if m := yamlLinePattern().FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			at.Line = n
		}
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	d.errorf(d.clamp(at), CodeYAML, "", "invalid YAML: %s", msg)
}

// clamp keeps a position reported by the YAML parser inside the file (it may name the
// line after the last one at the end of input).
func (d *decoder) clamp(p Pos) Pos {
	if p.Line < 1 {
		p.Line = 1
	}
	if lines := len(splitLines(d.data)); p.Line > lines {
		p.Line = lines
	}
	if p.Column < 1 {
		p.Column = 1
	}
	return p
}

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func isString(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" }

func kindName(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		}
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "an unknown node"
}

// entries lists a mapping's keys and values, applying YAML merge keys (`<<: *anchor`) and
// reporting duplicate keys, which yaml.v3 accepts silently when decoding into a Node. path
// is the mapping's, for the problems found. merged is set for a mapping a merge key copies:
// each of its entries is a value decoding makes, counted against valueLimit as it is made,
// so merges of merges (`<<: [*a, *a, ...]` at each level) cannot multiply without end.
func (d *decoder) entries(m *yaml.Node, path uint32, depth int, merged bool) []entry {
	out := make([]entry, 0, len(m.Content)/2)
	var index map[string]Pos // only for big mappings, where a linear search would be quadratic
	if len(m.Content)/2 > 16 {
		index = make(map[string]Pos, len(m.Content)/2)
	}
	find := func(key string) (Pos, bool) {
		if index != nil {
			p, ok := index[key]
			return p, ok
		}
		return findEntry(out, key)
	}
	add := func(e entry) {
		out = append(out, e)
		if index != nil {
			index[e.key] = e.keyPos
		}
	}
	var fromMerges []entry
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if merged {
			if d.nodes++; d.nodes > d.valueLimit() {
				return nil // reported by the merge key outside the merged mappings
			}
		}
		rv := resolve(v)
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0 && (k.Tag == "" || k.ShortTag() == "!!merge") {
			fromMerges = append(fromMerges, d.mergeEntries(rv, pos(v), path, depth)...)
			if limit := d.valueLimit(); !merged && d.nodes > limit {
				d.errorf(pos(k), CodeTooBig, d.name(path), "the merge key (<<) expands to too many values (merges of merges): pi stops at %d values", limit)
				return nil
			}
			continue
		}
		rk := resolve(k)
		if rk == nil || rk.Kind != yaml.ScalarNode {
			d.errorf(pos(k), CodeKey, d.name(path), "a key must be a plain string, not %s", kindName(rk))
			continue
		}
		kp := pos(k)
		// Mappings in a pipeline are small: a linear search costs less than a map each.
		if first, dup := find(rk.Value); dup {
			d.errorf(kp, CodeDuplicateKey, joinPath(d.name(path), rk.Value), "duplicate key %q (first at %d:%d): YAML keeps only one of them, remove the other", rk.Value, first.Line, first.Column)
			continue
		}
		if rv == nil {
			d.errorf(pos(v), CodeTooBig, joinPath(d.name(path), rk.Value), "alias nests too deeply")
			continue
		}
		add(entry{key: rk.Value, keyPos: kp, val: rv, valPos: pos(v)})
	}
	// Explicit keys win over merged ones; among merged mappings the first wins (YAML spec).
	for _, e := range fromMerges {
		if _, ok := find(e.key); !ok {
			add(e)
		}
	}
	return out
}

func findEntry(list []entry, key string) (Pos, bool) {
	for i := range list {
		if list[i].key == key {
			return list[i].keyPos, true
		}
	}
	return Pos{}, false
}

func (d *decoder) mergeEntries(v *yaml.Node, at Pos, path uint32, depth int) []entry {
	if depth > maxDepth {
		d.errorf(at, CodeTooBig, d.name(path), "the file nests too deeply (more than %d levels)", maxDepth)
		return nil
	}
	switch {
	case v != nil && v.Kind == yaml.MappingNode:
		return d.entries(v, path, depth+1, true)
	case v != nil && v.Kind == yaml.SequenceNode:
		var out []entry
		for _, item := range v.Content {
			ri := resolve(item)
			if ri == nil || ri.Kind != yaml.MappingNode {
				d.errorf(pos(item), CodeMergeKey, d.name(path), "a merge key (<<) takes a mapping or a list of mappings, not %s", kindName(ri))
				continue
			}
			out = append(out, d.entries(ri, path, depth+1, true)...)
		}
		return out
	}
	d.errorf(at, CodeMergeKey, d.name(path), "a merge key (<<) takes a mapping or a list of mappings, not %s", kindName(v))
	return nil
}

// value converts the node at path (recorded by the caller) to a plain Go value
// (map[string]any, []any, string, int, float64, bool, nil). Inside a step, where each of
// its values is written is recorded in the Source.
func (d *decoder) value(n *yaml.Node, at Pos, path uint32, depth int) any {
	d.nodes++
	if limit := d.valueLimit(); d.nodes > limit || depth > maxDepth {
		if d.nodes == limit+1 || depth == maxDepth+1 {
			d.errorf(at, CodeTooBig, d.name(path), "the file expands to too many values (aliases or nesting): pi stops at %d values or %d levels", limit, maxDepth)
		}
		return nil
	}
	if n == nil {
		return nil
	}
	inStep := d.step >= 0
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for _, e := range d.entries(n, path, depth, false) {
			id := d.child(path, e.key)
			if inStep {
				d.src.record(true, id, e.valPos, e.keyPos)
			}
			m[e.key] = d.value(e.val, e.valPos, id, depth+1)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			id := d.child(path, strconv.Itoa(i))
			if inStep {
				d.src.record(true, id, pos(item), Pos{})
			}
			l = append(l, d.value(resolve(item), pos(item), id, depth+1))
		}
		return l
	case yaml.ScalarNode:
		return d.scalar(n, at, path)
	}
	return nil
}

func (d *decoder) scalar(n *yaml.Node, at Pos, path uint32) any {
	switch n.ShortTag() {
	case "!!str":
		d.checkRefs(n.Value, at, path)
		return n.Value
	case "!!null":
		return nil
	case "!!timestamp":
		// Keep dates as written: JSON has no date type and the server gets a string.
		return n.Value
	}
	var v any
	if err := n.Decode(&v); err != nil {
		d.errorf(at, CodeValue, d.name(path), "cannot read value %q: %v", n.Value, err)
		return n.Value
	}
	return v
}

// checkRefs reports the malformed references of a string where references count: params
// in a step's input and in matrix values, the matrix in a step's input.
func (d *decoder) checkRefs(s string, at Pos, path uint32) {
	if d.refs {
		if _, ok := paramsNS.scan(s); !ok {
			d.errorf(at, CodeMalformedRef, d.name(path), "malformed param reference in %q: write ${params.NAME} (letters, digits, _ and -)", s)
		}
	}
	if d.inInput {
		if _, ok := matrixNS.scan(s); !ok {
			d.errorf(at, CodeMalformedRef, d.name(path), "malformed matrix reference in %q: write ${matrix.NAME} or ${matrix.NAME.field} (letters, digits, _ and -)", s)
		}
	}
}

func (d *decoder) params(p *Pipeline, e entry, path uint32) {
	if isNull(e.val) {
		return
	}
	if e.val.Kind != yaml.MappingNode {
		d.errorf(e.valPos, CodeType, "params", "params must be a mapping of names to default values, not %s", kindName(e.val))
		return
	}
	p.Params = map[string]Param{}
	for _, pe := range d.entries(e.val, path, 0, false) {
		if !validName(pe.key) {
			d.errorf(pe.keyPos, CodeName, "params."+pe.key, "param name %q is not valid: use letters, digits, _ and -, starting with a letter or _", pe.key)
			continue
		}
		id := d.child(path, pe.key)
		d.src.record(false, id, pe.valPos, pe.keyPos)
		p.Params[pe.key] = Param{Value: d.value(pe.val, pe.valPos, id, 1)}
	}
}

func (d *decoder) steps(p *Pipeline, e entry) {
	if e.val.Kind != yaml.SequenceNode {
		d.src.stepsReported = true
		d.errorf(e.valPos, CodeType, "steps", "steps must be a list of steps (each a mapping with id and action), not %s", kindName(e.val))
		return
	}
	p.Steps = make([]Step, 0, len(e.val.Content)) // a big file's steps are not copied as they grow
	for i, item := range e.val.Content {
		d.stepItem(p, item, i)
	}
}

// stepItem decodes item i of the steps list, which should be a step.
func (d *decoder) stepItem(p *Pipeline, item *yaml.Node, i int) {
	n := resolve(item)
	if n == nil || n.Kind != yaml.MappingNode {
		d.src.stepsReported = true
		d.errorf(pos(item), CodeType, "steps."+strconv.Itoa(i), "step %d must be a mapping with id and action, not %s", i+1, kindName(n))
		return
	}
	d.step = len(p.Steps)
	d.src.beginStep(i)
	p.Steps = append(p.Steps, d.decodeStep(n, pos(item)))
	d.step = -1
}

// splitLines splits data at the line breaks YAML counts (LF, CRLF, CR, NEL, LS and PS), so
// a position the parser reports can be checked against the text.
func splitLines(data []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i < len(data); {
		n := 0
		switch {
		case data[i] == '\n':
			n = 1
		case data[i] == '\r':
			n = 1
			if i+1 < len(data) && data[i+1] == '\n' {
				n = 2
			}
		case bytes.HasPrefix(data[i:], []byte("\u0085")), bytes.HasPrefix(data[i:], []byte("\u2028")), bytes.HasPrefix(data[i:], []byte("\u2029")):
			n = len(string([]rune(string(data[i:min(i+3, len(data))]))[0]))
		}
		if n == 0 {
			i++
			continue
		}
		out = append(out, data[start:i])
		i += n
		start = i
	}
	return append(out, data[start:])
}
