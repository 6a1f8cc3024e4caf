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
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pi-cli/pi/internal/backoff"
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
)

func (s fieldSet) has(f fieldSet) bool { return s&f != 0 }

// paramUse is one `${params.NAME}` found in a step's input.
type paramUse struct {
	Name string
	Pos  Pos
}

// The keys the file may hold at each level; anything else is an error, because the
// server drops unknown keys without a word.
var (
	topKeys   = []string{"params", "steps", "metadata"}
	stepKeys  = []string{"id", "action", "input", "depends_on", "input_map", "retry", "timeout", "matrix"}
	retryKeys = []string{"max_attempts", "backoff"}
)

// Defaults of a retry block that leaves a field out (DESIGN.md "Engine semantics"): the
// local engine's, which internal/backoff owns.
const (
	DefaultMaxAttempts = backoff.StepAttempts
	DefaultBackoff     = backoff.StepBase
)

// Limits on what decoding expands, so a hostile file (alias bombs, deep nesting) cannot
// exhaust memory or the stack.
const (
	maxNodes = 200_000
	maxDepth = 200
)

// The patterns are compiled on first use, so commands that never read a pipeline (pi
// version, completion) pay nothing for them at start-up.
var (
	paramRef  = lazyRegexp{expr: `\$\{params\.([A-Za-z_][A-Za-z0-9_-]*)\}`}
	paramOnly = lazyRegexp{expr: `^\$\{params\.([A-Za-z_][A-Za-z0-9_-]*)\}$`}
	paramName = lazyRegexp{expr: `^[A-Za-z_][A-Za-z0-9_-]*$`}
	yamlLine  = lazyRegexp{expr: `^(?:yaml: )?line (\d+): `}
)

func paramRefPattern() *regexp.Regexp  { return paramRef.get() }
func paramOnlyPattern() *regexp.Regexp { return paramOnly.get() }
func paramNamePattern() *regexp.Regexp { return paramName.get() }
func yamlLinePattern() *regexp.Regexp  { return yamlLine.get() }

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

// Parse decodes a pipeline file named name (used in diagnostics and as Pipeline.Name).
// It reports problems of form: YAML syntax, duplicate keys, several documents, unknown keys
// and values of the wrong type. The returned pipeline is nil only when the file cannot be
// read as a mapping at all; otherwise it holds everything that could be decoded, and
// Validate checks the meaning. Diagnostics are sorted by position.
func Parse(name string, data []byte) (*Pipeline, Diagnostics) {
	n := items(data)
	if n > MaxItems {
		// Too big to parse in one piece: in pieces or not at all (ReadLimited refuses such a
		// file before it gets here; data from elsewhere is refused the same way).
		if err := checkItems(name, data, n); err != nil {
			return nil, Diagnostics{{File: name, Severity: Error, Message: err.Error()}}
		}
		p, ds, _ := parseChunked(name, data, n, true)
		return p, ds
	}
	if len(data) >= chunkedMin {
		if p, _, ok := parseChunked(name, data, n, false); ok {
			return p, nil
		}
	}
	d := &decoder{diags: diags{file: name}, data: data, written: n}
	p := d.parse(name, data)
	d.list = dedupe(d.list)
	d.list.Sort()
	return p, d.result()
}

type decoder struct {
	diags
	data  []byte
	nodes int // nodes expanded so far, against valueLimit
	// written is how many lines and flow items the file has: values it writes itself are
	// not expansions, and a big file may hold more than maxNodes of them.
	written int
	// matrixUses, while a step's input is decoded, collects its `${matrix.NAME}` references.
	matrixUses *[]matrixUse
	// track, when set, receives the position of every value decoded, keyed by its dotted
	// path below path (how a step's input issues find their place in the file).
	track map[string]Pos
	path  []string
	// chunks, when set, are the steps parseChunked cut out of the file: decoded in place
	// of the file's (then empty) steps list; chunkFailed says one did not decode alone.
	chunks      []stepChunk
	chunkFailed bool
	mustChunk   bool // the file is too big to be parsed whole: chunks report their own errors
}

// valueLimit is how many values decoding may produce: maxNodes more than twice what the
// file writes (a flow item or a line holds at most two: a key and its value, or an item
// and the collection it opens), so only aliases can reach it.
func (d *decoder) valueLimit() int { return maxNodes + 2*d.written }

type entry struct {
	key    string
	keyPos Pos
	val    *yaml.Node // aliases resolved
	valPos Pos        // where the value is written (the alias, for an alias)
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Column: n.Column} }

func (d *decoder) parse(name string, data []byte) *Pipeline {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(Pos{1, 1}, "the file is empty: a pipeline needs steps (see 'pi schema')")
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
		d.errorf(d.clamp(at), "a second YAML document starts here: a pipeline file holds exactly one (remove the '---' and what follows, or split the file)")
	case !errors.Is(err, io.EOF):
		d.yamlError(err)
	}
	if len(doc.Content) == 0 {
		d.errorf(Pos{1, 1}, "the file is empty: a pipeline needs steps (see 'pi schema')")
		return nil
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		d.errorf(d.clamp(pos(doc.Content[0])), "the file is empty: a pipeline needs steps (see 'pi schema')")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(pos(doc.Content[0]), "the top level must be a mapping with steps (and optionally params and metadata), not %s", kindName(root))
		return nil
	}
	p := &Pipeline{Name: name}
	for _, e := range d.entries(root, 0) {
		switch e.key {
		case "params":
			p.ParamsPos = e.valPos
			d.params(p, e)
		case "steps":
			p.StepsPos, p.StepsKeyPos = e.valPos, e.keyPos
			d.steps(p, e)
		case "metadata":
			p.MetadataPos = e.valPos
			if isNull(e.val) {
				continue
			}
			if e.val.Kind != yaml.MappingNode {
				d.errorf(e.valPos, "metadata must be a mapping, not %s", kindName(e.val))
				continue
			}
			v, _ := d.value(e.val, e.valPos, 0, nil).(map[string]any)
			p.Metadata = v
		default:
			if strings.HasPrefix(e.key, "x-") {
				continue // a place for anchors (x-defaults: &defaults ...), as in compose files
			}
			d.errorf(e.keyPos, "unknown top-level key %q%s: a pipeline file has params, steps, metadata and x-* keys for anchors", e.key, suggest(e.key, topKeys))
		}
	}
	return p
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
	d.errorf(d.clamp(at), "invalid YAML: %s", msg)
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
// reporting duplicate keys, which yaml.v3 accepts silently when decoding into a Node.
func (d *decoder) entries(m *yaml.Node, depth int) []entry {
	out := make([]entry, 0, len(m.Content)/2)
	var merged []entry
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
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		rv := resolve(v)
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0 && (k.Tag == "" || k.ShortTag() == "!!merge") {
			merged = append(merged, d.mergeEntries(rv, pos(v), depth)...)
			continue
		}
		rk := resolve(k)
		if rk == nil || rk.Kind != yaml.ScalarNode {
			d.errorf(pos(k), "a key must be a plain string, not %s", kindName(rk))
			continue
		}
		kp := pos(k)
		// Mappings in a pipeline are small: a linear search costs less than a map each.
		if first, dup := find(rk.Value); dup {
			d.errorf(kp, "duplicate key %q (first at %d:%d): YAML keeps only one of them, remove the other", rk.Value, first.Line, first.Column)
			continue
		}
		if rv == nil {
			d.errorf(pos(v), "alias nests too deeply")
			continue
		}
		add(entry{key: rk.Value, keyPos: kp, val: rv, valPos: pos(v)})
	}
	// Explicit keys win over merged ones; among merged mappings the first wins (YAML spec).
	for _, e := range merged {
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

func (d *decoder) mergeEntries(v *yaml.Node, at Pos, depth int) []entry {
	if depth > maxDepth {
		d.errorf(at, "the file nests too deeply (more than %d levels)", maxDepth)
		return nil
	}
	switch {
	case v != nil && v.Kind == yaml.MappingNode:
		return d.entries(v, depth+1)
	case v != nil && v.Kind == yaml.SequenceNode:
		var out []entry
		for _, item := range v.Content {
			ri := resolve(item)
			if ri == nil || ri.Kind != yaml.MappingNode {
				d.errorf(pos(item), "a merge key (<<) takes a mapping or a list of mappings, not %s", kindName(ri))
				continue
			}
			out = append(out, d.entries(ri, depth+1)...)
		}
		return out
	}
	d.errorf(at, "a merge key (<<) takes a mapping or a list of mappings, not %s", kindName(v))
	return nil
}

// value converts a node to a plain Go value (map[string]any, []any, string, int, float64,
// bool, nil). uses, when not nil, collects `${params.NAME}` references found in strings.
func (d *decoder) value(n *yaml.Node, at Pos, depth int, uses *[]paramUse) any {
	d.nodes++
	if limit := d.valueLimit(); d.nodes > limit || depth > maxDepth {
		if d.nodes == limit+1 || depth == maxDepth+1 {
			d.errorf(at, "the file expands to too many values (aliases or nesting): pi stops at %d values or %d levels", limit, maxDepth)
		}
		return nil
	}
	if n == nil {
		return nil
	}
	if d.track != nil {
		d.track[strings.Join(d.path, ".")] = at
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for _, e := range d.entries(n, depth) {
			d.push(e.key)
			m[e.key] = d.value(e.val, e.valPos, depth+1, uses)
			d.pop()
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			d.push(strconv.Itoa(i))
			l = append(l, d.value(resolve(item), pos(item), depth+1, uses))
			d.pop()
		}
		return l
	case yaml.ScalarNode:
		return d.scalar(n, at, uses)
	}
	return nil
}

func (d *decoder) push(key string) {
	if d.track != nil {
		d.path = append(d.path, key)
	}
}

func (d *decoder) pop() {
	if d.track != nil {
		d.path = d.path[:len(d.path)-1]
	}
}

func (d *decoder) scalar(n *yaml.Node, at Pos, uses *[]paramUse) any {
	switch n.ShortTag() {
	case "!!str":
		if uses != nil {
			d.paramRefs(n.Value, at, uses)
		}
		if d.matrixUses != nil {
			d.matrixRefs(n.Value, at)
		}
		return n.Value
	case "!!null":
		return nil
	case "!!timestamp":
		// Keep dates as written: JSON has no date type and the server gets a string.
		return n.Value
	}
	var v any
	if err := n.Decode(&v); err != nil {
		d.errorf(at, "cannot read value %q: %v", n.Value, err)
		return n.Value
	}
	return v
}

// paramRefs records the `${params.NAME}` references of s and reports malformed ones.
func (d *decoder) paramRefs(s string, at Pos, uses *[]paramUse) {
	if !strings.Contains(s, "${params.") {
		return
	}
	matches := paramRefPattern().FindAllStringSubmatchIndex(s, -1)
	for _, m := range matches {
		*uses = append(*uses, paramUse{Name: s[m[2]:m[3]], Pos: at})
	}
	if strings.Count(s, "${params.") != len(matches) {
		d.errorf(at, "malformed param reference in %q: write ${params.NAME} (letters, digits, _ and -)", s)
	}
}

func (d *decoder) params(p *Pipeline, e entry) {
	if isNull(e.val) {
		return
	}
	if e.val.Kind != yaml.MappingNode {
		d.errorf(e.valPos, "params must be a mapping of names to default values, not %s", kindName(e.val))
		return
	}
	p.Params = map[string]Param{}
	for _, pe := range d.entries(e.val, 0) {
		if !paramNamePattern().MatchString(pe.key) {
			d.errorf(pe.keyPos, "param name %q is not valid: use letters, digits, _ and -, starting with a letter or _", pe.key)
			continue
		}
		p.Params[pe.key] = Param{Value: d.value(pe.val, pe.valPos, 1, nil), Pos: pe.keyPos}
	}
}

func (d *decoder) steps(p *Pipeline, e entry) {
	if d.chunks != nil {
		d.stepsChunked(p)
		return
	}
	if e.val.Kind != yaml.SequenceNode {
		p.stepsReported = true
		d.errorf(e.valPos, "steps must be a list of steps (each a mapping with id and action), not %s", kindName(e.val))
		return
	}
	p.Steps = make([]Step, 0, len(e.val.Content)) // a big file's steps are not copied as they grow
	for i, item := range e.val.Content {
		n := resolve(item)
		if n == nil || n.Kind != yaml.MappingNode {
			p.stepsReported = true
			d.errorf(pos(item), "step %d must be a mapping with id and action, not %s", i+1, kindName(n))
			continue
		}
		p.Steps = append(p.Steps, d.step(p, n, pos(item)))
	}
}

func (d *decoder) step(p *Pipeline, n *yaml.Node, at Pos) Step {
	s := Step{Pos: at}
	var haveID, haveAction bool
	for _, e := range d.entries(n, 0) {
		switch e.key {
		case "id":
			haveID = true
			s.IDPos = e.valPos
			if e.val.Kind != yaml.ScalarNode || e.val.ShortTag() != "!!str" {
				hint := ""
				if e.val.Kind == yaml.ScalarNode && !isNull(e.val) {
					hint = fmt.Sprintf(": quote it (id: \"%s\")", e.val.Value)
				}
				d.errorf(e.valPos, "id must be a string, not %s%s", kindName(e.val), hint)
				s.reported |= fID
				continue
			}
			s.ID = strings.TrimSpace(e.val.Value) // as the server does
			if s.ID != e.val.Value && s.ID != "" {
				d.warnf(e.valPos, "id %q has blanks around it: the server trims it to %q (write it without them)", e.val.Value, s.ID)
			}
		case "action":
			haveAction = true
			s.ActionPos = e.valPos
			if e.val.Kind != yaml.ScalarNode || e.val.ShortTag() != "!!str" {
				d.errorf(e.valPos, "action must be a string such as brands.extract, not %s", kindName(e.val))
				s.reported |= fAction
				continue
			}
			s.Action = e.val.Value
		case "input":
			s.InputPos, s.InputNamePos = e.valPos, e.keyPos
			if e.val.Kind != yaml.MappingNode {
				d.errorf(e.valPos, "input must be a mapping of input names to values, not %s (write input: {} or leave it out)", kindName(e.val))
				s.reported |= fInput
				continue
			}
			s.Input = map[string]any{}
			s.InputKeyPos = map[string]Pos{}
			d.matrixUses = &s.matrixUses
			s.InputValuePos = map[string]Pos{}
			for _, ie := range d.entries(e.val, 0) {
				d.track, d.path = s.InputValuePos, append(d.path[:0], ie.key)
				s.Input[ie.key] = d.value(ie.val, ie.valPos, 1, &p.paramUses)
				d.track = nil
				s.InputKeyPos[ie.key] = ie.keyPos
			}
			d.matrixUses = nil
		case "depends_on":
			s.DependsOnKeyPos = e.keyPos
			if e.val.Kind != yaml.SequenceNode {
				hint := ""
				if e.val.Kind == yaml.ScalarNode && e.val.ShortTag() == "!!str" {
					hint = fmt.Sprintf(": write depends_on: [%s]", e.val.Value)
				}
				d.errorf(e.valPos, "depends_on must be a list of step ids, not %s%s", kindName(e.val), hint)
				s.reported |= fDependsOn
				continue
			}
			for _, item := range e.val.Content {
				ri := resolve(item)
				if ri == nil || ri.Kind != yaml.ScalarNode || ri.ShortTag() != "!!str" {
					d.errorf(pos(item), "depends_on entries must be step ids (strings), not %s", kindName(ri))
					s.reported |= fDependsOn
					continue
				}
				dep := strings.TrimSpace(ri.Value) // as the server does
				if dep != ri.Value && dep != "" {
					d.warnf(pos(item), "depends_on entry %q has blanks around it: the server trims it to %q (write it without them)", ri.Value, dep)
				}
				s.DependsOn = append(s.DependsOn, dep)
				s.DependsOnPos = append(s.DependsOnPos, pos(item))
			}
		case "input_map":
			if e.val.Kind != yaml.MappingNode {
				d.errorf(e.valPos, "input_map must be a mapping of input names to $steps.<id>.result.<field>, not %s", kindName(e.val))
				s.reported |= fInputMap
				continue
			}
			s.InputMap = map[string]string{}
			s.InputMapPos = map[string]Pos{}
			s.InputMapKeyPos = map[string]Pos{}
			for _, me := range d.entries(e.val, 0) {
				if me.val.Kind != yaml.ScalarNode || me.val.ShortTag() != "!!str" {
					d.errorf(me.valPos, "input_map.%s must be a string like $steps.<id>.result.<field>, not %s", me.key, kindName(me.val))
					s.reported |= fInputMap
					continue
				}
				s.InputMap[me.key] = me.val.Value
				s.InputMapPos[me.key] = me.valPos
				s.InputMapKeyPos[me.key] = me.keyPos
			}
		case "retry":
			s.RetryPos = e.valPos
			d.retry(&s, e)
		case "timeout":
			if dur, ok := d.duration(e, "timeout"); ok {
				s.Timeout, s.TimeoutPos = dur, e.valPos
			}
		case "matrix":
			d.matrix(p, &s, e)
		default:
			d.errorf(e.keyPos, "unknown step key %q%s: the server would drop it silently", e.key, suggestOr(e.key, stepKeys, "a step has "+strings.Join(stepKeys, ", ")))
		}
	}
	if !haveID {
		d.errorf(at, "step has no id: give it one (id: my_step)")
		s.reported |= fID
	}
	if !haveAction {
		d.errorf(at, "step %s has no action: add one (see 'pi actions')", stepName(s))
		s.reported |= fAction
	}
	return s
}

func stepName(s Step) string {
	if s.ID == "" {
		return "without id"
	}
	return strconv.Quote(s.ID)
}

func (d *decoder) retry(s *Step, e entry) {
	if e.val.Kind != yaml.MappingNode {
		d.errorf(e.valPos, "retry must be a mapping {max_attempts: N, backoff: DURATION}, not %s", kindName(e.val))
		return
	}
	r := &Retry{MaxAttempts: DefaultMaxAttempts, Backoff: DefaultBackoff}
	for _, re := range d.entries(e.val, 0) {
		switch re.key {
		case "max_attempts":
			s.MaxAttemptsPos = re.valPos
			n, err := strconv.Atoi(re.val.Value)
			if re.val.Kind != yaml.ScalarNode || re.val.ShortTag() != "!!int" || err != nil {
				d.errorf(re.valPos, "retry.max_attempts must be a whole number from 1 to 10, not %s", kindName(re.val))
				continue
			}
			r.MaxAttempts = n
		case "backoff":
			s.BackoffPos = re.valPos
			if dur, ok := d.duration(re, "retry.backoff"); ok {
				r.Backoff = dur
			}
		default:
			d.errorf(re.keyPos, "unknown retry key %q%s: retry has max_attempts and backoff", re.key, suggest(re.key, retryKeys))
		}
	}
	s.Retry = r
}

// duration reads a Go duration ("500ms", "2s", "10m", "1h30m").
func (d *decoder) duration(e entry, field string) (time.Duration, bool) {
	if e.val.Kind == yaml.ScalarNode && e.val.ShortTag() == "!!str" {
		if dur, err := time.ParseDuration(e.val.Value); err == nil {
			return dur, true
		}
	}
	d.errorf(e.valPos, "%s must be a duration such as 30s, 10m or 1h30m, not %s", field, kindName(e.val))
	return 0, false
}

// dedupe drops repeated diagnostics: a mapping reached through several aliases is checked
// once per use.
func dedupe(ds Diagnostics) Diagnostics {
	if len(ds) < 2 {
		return ds
	}
	seen := make(map[Diagnostic]bool, len(ds))
	out := ds[:0]
	for _, d := range ds {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
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
