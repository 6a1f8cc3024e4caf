package pipeline

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// A matrix step is a template: `matrix: {culture: [fr, de], tier: [basic, premium]}` stands
// for one ordinary step per combination of the values (the cartesian product: keys in the
// order written, the first varying slowest, then list order). pi expands it before anything
// is validated as a graph, sent or run, so the server never sees a matrix and the user sees
// the concrete steps first (`pi validate`, `pi graph`, `pi run --dry-run`).

// MaxExpansions bounds the steps that matrices may expand to in one pipeline, so a file of
// a few lines cannot ask for millions of steps.
const MaxExpansions = 1000

// Matrix is the `matrix:` of a step, as written.
type Matrix struct {
	Pos  Pos          // the mapping
	Axes []MatrixAxis // in the order written
}

// MatrixAxis is one key of a matrix and its values.
type MatrixAxis struct {
	Name   string
	KeyPos Pos
	Pos    Pos // the value: the list, or the ${params.NAME} string
	// Param is set when the values come from a param (`culture: ${params.cultures}`).
	Param string
	// Items are the listed values as decoded (params not substituted); ItemPos[i] locates
	// Items[i].
	Items   []any
	ItemPos []Pos
}

// Origin says which matrix step an expanded step was made from.
type Origin struct {
	Template string         // the id of the matrix step
	Index    int            // 1-based position of the combination in the product
	Count    int            // how many steps the matrix step expanded to
	Values   map[string]any // this combination: matrix key -> value (params substituted)

	matrixPos Pos // the template's matrix
	// keys are the values' canonical forms, for pairing without re-encoding them.
	keys map[string]string

	// remap moves a diagnostic from the position of a string that used ${matrix.X} to the
	// matrix value this expansion took for X, which is what made the problem.
	remap map[Pos]Pos
	// keyValue does the same for a diagnostic at an input key whose value used a matrix
	// value.
	keyValue map[Pos]Pos
}

// MatrixSummary is one matrix step of a file and the number of steps it expanded to.
type MatrixSummary struct {
	Step  string
	Count int
}

// matrixUse is one `${matrix.NAME[.field...]}` found in a step's input.
type matrixUse struct {
	Name string
	Path []string
	Ref  string // as written
	Pos  Pos
	// whole is set when the string is only the reference, so the value keeps its type.
	whole bool
}

var (
	matrixRef  = lazyRegexp{expr: `\$\{matrix\.([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\}`}
	matrixOnly = lazyRegexp{expr: `^\$\{matrix\.([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\}$`}
)

func matrixRefPattern() *regexp.Regexp  { return matrixRef.get() }
func matrixOnlyPattern() *regexp.Regexp { return matrixOnly.get() }

// matrixRefs records the `${matrix...}` references of an input string and reports malformed
// ones.
func (d *decoder) matrixRefs(s string, at Pos) {
	if !strings.Contains(s, "${matrix.") {
		return
	}
	matches := matrixRefPattern().FindAllStringSubmatchIndex(s, -1)
	for _, m := range matches {
		u := matrixUse{Name: s[m[2]:m[3]], Ref: s[m[0]:m[1]], Pos: at, whole: m[0] == 0 && m[1] == len(s)}
		if m[5] > m[4] {
			u.Path = strings.Split(s[m[4]+1:m[5]], ".")
		}
		*d.matrixUses = append(*d.matrixUses, u)
	}
	if strings.Count(s, "${matrix.") != len(matches) {
		d.errorf(at, "malformed matrix reference in %q: write ${matrix.NAME} or ${matrix.NAME.field} (letters, digits, _ and -)", s)
	}
}

// matrix decodes a step's `matrix:`.
func (d *decoder) matrix(p *Pipeline, s *Step, e entry) {
	broken := func() { s.reported |= fMatrix }
	if e.val.Kind != yaml.MappingNode {
		d.errorf(e.valPos, "matrix must be a mapping of names to lists of values, such as matrix: {culture: [fr, de]}, not %s", kindName(e.val))
		broken()
		return
	}
	m := &Matrix{Pos: e.valPos}
	s.Matrix = m
	entries := d.entries(e.val, 0)
	if len(entries) == 0 {
		d.errorf(e.valPos, "matrix has no keys: give it one, such as matrix: {culture: [fr, de]}, or remove it")
		broken()
		return
	}
	for _, me := range entries {
		if !paramNamePattern().MatchString(me.key) {
			d.errorf(me.keyPos, "matrix key %q is not a valid name: use letters, digits, _ and -, starting with a letter or _ (it is used as ${matrix.NAME})", me.key)
			broken()
			continue
		}
		ax := MatrixAxis{Name: me.key, KeyPos: me.keyPos, Pos: me.valPos}
		switch {
		case me.val.Kind == yaml.SequenceNode:
			if len(me.val.Content) == 0 {
				d.errorf(me.valPos, "matrix.%s is an empty list: give it at least one value (with none, step %s would not exist)", me.key, stepName(*s))
				broken()
				continue
			}
			for j, item := range me.val.Content {
				ri, at := resolve(item), pos(item)
				switch {
				case isNull(ri):
					d.errorf(at, "matrix.%s item %d is empty: give it a value", me.key, j+1)
					broken()
				case ri.Kind == yaml.SequenceNode:
					d.errorf(at, "matrix.%s item %d is a list: an item is a value (culture: [fr, de]) or a mapping (locale: [{culture: fr, currency: EUR}])", me.key, j+1)
					broken()
				}
				ax.Items = append(ax.Items, d.value(ri, at, 1, &p.paramUses))
				ax.ItemPos = append(ax.ItemPos, at)
			}
		case me.val.Kind == yaml.ScalarNode && me.val.ShortTag() == "!!str" && paramOnlyPattern().MatchString(me.val.Value):
			ax.Param = paramOnlyPattern().FindStringSubmatch(me.val.Value)[1]
			p.paramUses = append(p.paramUses, paramUse{Name: ax.Param, Pos: me.valPos})
		default:
			hint := ""
			if me.val.Kind == yaml.ScalarNode && !isNull(me.val) {
				hint = fmt.Sprintf(" (write %s: [%s])", me.key, me.val.Value)
			}
			d.errorf(me.valPos, "matrix.%s must be a list of values or a ${params.NAME} whose value is a list, not %s%s", me.key, kindName(me.val), hint)
			broken()
			continue
		}
		m.Axes = append(m.Axes, ax)
	}
}

// Expand returns the pipeline with every matrix step replaced by its expansions, params
// taken from the file's defaults and the -p overrides (invalid overrides are ignored here;
// Validate reports them). The diagnostics are the matrices' own problems. Input strings
// keep their ${params.NAME} references (WithParams substitutes them); ${matrix.NAME} ones
// are replaced. A pipeline without matrices is returned as it is.
func (p *Pipeline) Expand(overrides map[string]string) (*Pipeline, Diagnostics) {
	return p.expand(paramValues(p, overrides))
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

// group is a matrix step being expanded.
type group struct {
	tmpl    *Step
	axes    []resolvedAxis
	sig     map[string]string // key -> its set of values, for pairing
	ids     []string          // expansion ids in product order
	byCombo map[string]string // canonical combination -> expansion id
	uses    []matrixUse
}

type resolvedAxis struct {
	name   string
	values []any
	pos    []Pos
	keys   []string // canonical(values[i]), computed once
}

type expander struct {
	diags
	p      *Pipeline
	values map[string]any
	taken  map[string]bool
	groups map[string]*group
	total  int
	// mapErr remembers the input_map keys already reported, so the expansions of one
	// template report the problem once.
	mapErr map[string]bool
}

func hasMatrix(p *Pipeline) bool {
	for i := range p.Steps {
		if p.Steps[i].Matrix != nil || len(p.Steps[i].matrixUses) > 0 || p.Steps[i].reported.has(fMatrix) {
			return true
		}
	}
	return false
}

func (p *Pipeline) expand(values map[string]any) (*Pipeline, Diagnostics) {
	if !hasMatrix(p) {
		return p, nil
	}
	x := &expander{diags: diags{file: p.Name}, p: p, values: values, taken: map[string]bool{}, groups: map[string]*group{}, mapErr: map[string]bool{}}
	counts := map[string]int{}
	for i := range p.Steps {
		counts[p.Steps[i].ID]++
	}
	// A template whose id is itself a problem stays one step, so validation reports it.
	expandable := func(s *Step) bool {
		n := utf8.RuneCountInString(s.ID)
		return s.Matrix != nil && !s.reported.has(fID) && n > 0 && n <= MaxIDLength && counts[s.ID] == 1
	}
	for i := range p.Steps {
		if s := &p.Steps[i]; !expandable(s) {
			x.taken[s.ID] = true
		}
	}
	out := make([]Step, 0, len(p.Steps))
	var summary []MatrixSummary
	for i := range p.Steps {
		s := &p.Steps[i]
		uses := s.matrixUses
		if s.Pos == (Pos{}) && len(uses) == 0 {
			uses = scanMatrixUses(s.Input) // built in code: no positions
		}
		if s.Matrix == nil && s.reported.has(fMatrix) {
			// matrix: was not a mapping (reported): its references are not the problem.
			c := *s
			c.reported |= fInput
			out = append(out, c)
			continue
		}
		if s.Matrix == nil {
			for _, u := range uses {
				x.errorf(u.Pos, "%s in step %s, which has no matrix: add one (matrix: {%s: [...]}) or remove the reference", u.Ref, stepName(*s), u.Name)
			}
			out = append(out, *s)
			continue
		}
		g := x.group(s, uses, expandable(s))
		if g == nil {
			// Kept as one step: its input is not what will run, so it is not checked.
			c := *s
			c.reported |= fInput
			out = append(out, c)
			continue
		}
		x.groups[s.ID] = g
		out = append(out, x.steps(g)...)
		summary = append(summary, MatrixSummary{Step: s.ID, Count: len(g.ids)})
	}
	for i := range out {
		x.rewrite(&out[i])
	}
	q := *p
	q.Steps = out
	q.expanded = summary
	x.list = dedupe(x.list)
	x.list.Sort()
	return &q, x.list
}

// group resolves the matrix of s, checks its references and names its expansions; nil
// when it cannot be expanded (the problem is reported).
func (x *expander) group(s *Step, uses []matrixUse, expandable bool) *group {
	m := s.Matrix
	g := &group{tmpl: s, uses: uses, byCombo: map[string]string{}}
	ok := !s.reported.has(fMatrix) && expandable
	for _, ax := range m.Axes {
		ra, good := x.resolveAxis(s, ax)
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
		x.errorf(m.Pos, "the matrix of step %s expands to %s: pi expands at most %d steps in a pipeline", stepName(*s), countText(n), MaxExpansions)
		return nil
	}
	x.total += n
	if !x.checkUses(g) {
		return nil
	}
	g.sig = signature(g.axes)
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
func (x *expander) resolveAxis(s *Step, ax MatrixAxis) (resolvedAxis, bool) {
	ra := resolvedAxis{name: ax.Name}
	if ax.Param != "" {
		val, defined := x.values[ax.Param]
		if !defined {
			return ra, false // an undefined param: Validate reports it
		}
		list, isList := val.([]any)
		switch {
		case !isList:
			x.errorf(ax.Pos, "matrix.%s takes its values from ${params.%s}, which is %s, not a list: give the param a list (params: {%s: [a, b]}, or -p %s='[a, b]')", ax.Name, ax.Param, describeValue(val), ax.Param, ax.Param)
			return ra, false
		case len(list) == 0:
			x.errorf(ax.Pos, "matrix.%s takes its values from ${params.%s}, which is an empty list: give it at least one value (with none, step %s would not exist)", ax.Name, ax.Param, stepName(*s))
			return ra, false
		}
		good := true
		for j, item := range list {
			if problem := itemProblem(item); problem != "" {
				x.errorf(ax.Pos, "matrix.%s: item %d of ${params.%s} %s", ax.Name, j+1, ax.Param, problem)
				good = false
			}
			ra.values = append(ra.values, item)
			ra.pos = append(ra.pos, ax.Pos)
		}
		return ra, good && x.distinct(ax.Name, &ra)
	}
	good := true
	for j, item := range ax.Items {
		var missing []string
		val := substitute(item, x.values, &missing)
		if len(missing) > 0 {
			good = false // an undefined param: Validate reports it
		}
		at := posAt(ax.ItemPos, j, ax.Pos)
		if strings.Contains(canonical(item), "${matrix.") {
			x.errorf(at, "matrix.%s item %d uses ${matrix...}: a matrix value cannot refer to the matrix (write the value itself)", ax.Name, j+1)
			good = false
			continue
		}
		if problem := itemProblem(val); problem != "" && len(missing) == 0 {
			x.errorf(at, "matrix.%s item %d %s", ax.Name, j+1, problem)
			good = false
		}
		ra.values = append(ra.values, val)
		ra.pos = append(ra.pos, at)
	}
	return ra, good && x.distinct(ax.Name, &ra)
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
func (x *expander) distinct(name string, ra *resolvedAxis) bool {
	seen := map[string]int{}
	ok := true
	ra.keys = make([]string, len(ra.values))
	for j, v := range ra.values {
		k := canonical(v)
		ra.keys[j] = k
		if first, dup := seen[k]; dup {
			x.errorf(ra.pos[j], "matrix.%s lists %s twice (items %d and %d): each value makes one step, remove one", name, truncate(k, 40), first+1, j+1)
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
	s := g.tmpl
	names := make([]string, len(g.axes))
	used := map[string]bool{}
	ok := true
	for i, ax := range g.axes {
		names[i] = ax.name
	}
	unknown := false
	for _, u := range g.uses {
		ax := g.axis(u.Name)
		if ax == nil {
			unknown = true
			x.errorf(firstPos(u.Pos, s.InputPos, s.Pos), "unknown matrix key %q in %s%s", u.Name, u.Ref, suggestOr(u.Name, names, "the matrix of step "+strconv.Quote(s.ID)+" has "+strings.Join(names, ", ")))
			ok = false
			continue
		}
		used[u.Name] = true
		for j, v := range ax.values {
			val, problem := field(v, u.Path)
			if problem == "" && !u.whole {
				if _, isMap := val.(map[string]any); isMap {
					problem = "is a mapping, which cannot be written inside a longer string: use one of its fields, such as ${matrix." + u.Name + ".FIELD}"
				}
			}
			if problem != "" {
				x.errorf(firstPos(ax.pos[j], u.Pos, s.Pos), "matrix.%s item %d %s (for %s in the input of step %s%s)", u.Name, j+1, problem, u.Ref, stepName(*s), atLine(u.Pos))
				ok = false
			}
		}
	}
	// A key that a matrix step this one depends on also has is used: for pairing.
	for _, dep := range s.DependsOn {
		for i := range x.p.Steps {
			if d := &x.p.Steps[i]; d.ID == dep && d.Matrix != nil && d != s {
				for _, ax := range d.Matrix.Axes {
					used[ax.Name] = true
				}
			}
		}
	}
	for _, ax := range s.Matrix.Axes {
		if !used[ax.Name] && !unknown { // a misspelt reference is the likelier problem
			x.warnf(firstPos(ax.KeyPos, s.Matrix.Pos, s.Pos), "matrix key %q is not used in the input of step %s, nor shared with a matrix step it depends on: its expansions differ only in their ids (use ${matrix.%s} in input, or remove the key)", ax.Name, stepName(*s), ax.Name)
		}
	}
	return ok
}

// comboKey identifies a combination of g's keys by their values (keys: name -> canonical
// value; other names are ignored).
func (g *group) comboKey(keys map[string]string) string {
	var b strings.Builder
	for _, ax := range g.axes {
		b.WriteString(keys[ax.name])
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
			return nil, fmt.Sprintf("has no field %q%s", strings.Join(path[:i+1], "."), suggestOr(f, slices.Sorted(maps.Keys(m)), "it has "+strings.Join(slices.Sorted(maps.Keys(m)), ", ")))
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

// steps makes the expansions of g, in product order.
func (x *expander) steps(g *group) []Step {
	s := g.tmpl
	n := 1
	for _, ax := range g.axes {
		n *= len(ax.values)
	}
	combos := make([][]int, n)
	idx := make([]int, len(g.axes))
	for c := 0; c < n; c++ {
		combos[c] = append([]int(nil), idx...)
		for a := len(idx) - 1; a >= 0; a-- { // the last key varies fastest
			idx[a]++
			if idx[a] < len(g.axes[a].values) {
				break
			}
			idx[a] = 0
		}
	}
	ids := x.ids(s.ID, g, combos)
	// input key position -> the matrix key its value uses first (the same for every
	// combination)
	keyRefs := map[Pos]string{}
	for k, v := range s.Input {
		if name := firstMatrixRef(v); name != "" && s.InputKeyPos[k] != (Pos{}) {
			keyRefs[s.InputKeyPos[k]] = name
		}
	}
	out := make([]Step, n)
	for c, combo := range combos {
		vals := make(map[string]any, len(g.axes))
		keys := make(map[string]string, len(g.axes))
		itemPos := make(map[string]Pos, len(g.axes))
		for a, ax := range g.axes {
			vals[ax.name] = ax.values[combo[a]]
			keys[ax.name] = ax.keys[combo[a]]
			itemPos[ax.name] = ax.pos[combo[a]]
		}
		e := *s
		e.ID = ids[c]
		e.Matrix = nil
		e.matrixUses = nil
		e.Origin = &Origin{Template: s.ID, Index: c + 1, Count: n, Values: vals, matrixPos: s.Matrix.Pos, keys: keys, remap: map[Pos]Pos{}, keyValue: map[Pos]Pos{}}
		for _, u := range g.uses {
			if at, ok := itemPos[u.Name]; ok && u.Pos != (Pos{}) {
				if _, seen := e.Origin.remap[u.Pos]; !seen {
					e.Origin.remap[u.Pos] = at
				}
			}
		}
		if s.Input != nil {
			e.Input = substituteMatrix(s.Input, vals).(map[string]any)
			for kp, name := range keyRefs {
				e.Origin.keyValue[kp] = itemPos[name]
			}
		}
		g.ids = append(g.ids, e.ID)
		g.byCombo[g.comboKey(keys)] = e.ID
		out[c] = e
	}
	return out
}

// ids names the expansions: the template's id and a slug of each value
// (localize-french-urban-premium); the combination's 1-based index instead when a slug is
// empty, too long or already taken.
func (x *expander) ids(base string, g *group, combos [][]int) []string {
	ids := make([]string, len(combos))
	readable := make([]bool, len(combos))
	for c, combo := range combos {
		parts := []string{base}
		ok := true
		for a, ax := range g.axes {
			sl := slug(ax.values[combo[a]])
			if sl == "" {
				ok = false
			}
			parts = append(parts, sl)
		}
		id := strings.Join(parts, "-")
		if ok && utf8.RuneCountInString(id) <= MaxIDLength && !x.taken[id] {
			ids[c], readable[c] = id, true
			x.taken[id] = true
		}
	}
	for c := range combos {
		if readable[c] {
			continue
		}
		for k := 1; ; k++ {
			suffix := "-" + strconv.Itoa(c+1)
			if k > 1 {
				suffix += "-" + strconv.Itoa(k)
			}
			r := []rune(base)
			if len(r)+len(suffix) > MaxIDLength {
				r = r[:MaxIDLength-len(suffix)]
			}
			id := string(r) + suffix
			if !x.taken[id] {
				ids[c] = id
				x.taken[id] = true
				break
			}
		}
	}
	return ids
}

// slug makes a value readable in an id: lower-case letters and digits, other runs of
// characters as one "-". A mapping item is named by its id or name field, else by all its
// scalar fields in key order.
func slug(v any) string {
	if m, ok := v.(map[string]any); ok {
		for _, k := range []string{"id", "name"} {
			if s, ok := scalarText(m[k]); ok {
				return slugText(s)
			}
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if s, ok := scalarText(m[k]); ok {
				if sl := slugText(s); sl != "" {
					parts = append(parts, sl)
				}
			}
		}
		return strings.Join(parts, "-")
	}
	s, _ := scalarText(v)
	return slugText(s)
}

func scalarText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(t), true
	}
	return "", false
}

func slugText(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// canonical is a value's JSON with sorted keys: equal values, equal strings.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
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

// rewrite points depends_on and input_map of one step at the expansions: every expansion of
// a matrix step it depends on (fan-in), or the one with the same values when both have the
// same matrix (item-wise pairing).
func (x *expander) rewrite(s *Step) {
	var own *group
	if s.Origin != nil {
		own = x.groups[s.Origin.Template]
	}
	// Pairing also works when the other matrix has only some of this one's keys (the same
	// values for each): hero over sizes, localize over sizes and cultures.
	paired := func(g *group) (string, bool) {
		if own == nil {
			return "", false
		}
		for name, sig := range g.sig {
			if own.sig[name] != sig {
				return "", false
			}
		}
		return g.byCombo[g.comboKey(s.Origin.keys)], true
	}
	if len(s.DependsOn) > 0 {
		deps := make([]string, 0, len(s.DependsOn))
		depPos := make([]Pos, 0, len(s.DependsOn))
		changed := false
		for j, dep := range s.DependsOn {
			at := posAt(s.DependsOnPos, j, Pos{})
			g := x.groups[dep]
			if g == nil {
				deps, depPos = append(deps, dep), append(depPos, at)
				continue
			}
			changed = true
			if id, ok := paired(g); ok {
				deps, depPos = append(deps, id), append(depPos, at)
				continue
			}
			for _, id := range g.ids {
				deps, depPos = append(deps, id), append(depPos, at)
			}
		}
		if changed {
			s.DependsOn, s.DependsOnPos = deps, depPos
		}
	}
	if len(s.InputMap) > 0 {
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
					name := s.ID
					if s.Origin != nil {
						name = s.Origin.Template
					}
					if key := name + "\x00" + k; !x.mapErr[key] {
						x.mapErr[key] = true
						x.errorf(firstPos(s.InputMapPos[k], s.Pos), "step %s maps %s, but %s is a matrix step with %d expansions: give %s the same matrix, or depend on %s without mapping it", name, expr, ref.Step, len(g.ids), name, ref.Step)
					}
				}
			}
			if im == nil {
				im = make(map[string]string, len(s.InputMap))
				for kk, vv := range s.InputMap {
					im[kk] = vv
				}
			}
			im[k] = refString(id, ref.Path)
		}
		if im != nil {
			s.InputMap = im
		}
	}
}

func refString(step string, path []string) string {
	if len(path) == 0 {
		return "$steps." + step + ".result"
	}
	return "$steps." + step + ".result." + strings.Join(path, ".")
}

// substituteMatrix returns x with ${matrix...} references replaced by the combination's
// values: a string that is only a reference takes the value itself, type included. Maps
// and lists are copied.
func substituteMatrix(x any, vals map[string]any) any {
	switch t := x.(type) {
	case string:
		if !strings.Contains(t, "${matrix.") {
			return t
		}
		if m := matrixOnlyPattern().FindStringSubmatch(t); m != nil {
			if v, ok := lookupMatrix(vals, m[1], m[2]); ok {
				return v
			}
			return t
		}
		return matrixRefPattern().ReplaceAllStringFunc(t, func(ref string) string {
			m := matrixRefPattern().FindStringSubmatch(ref)
			v, ok := lookupMatrix(vals, m[1], m[2])
			if !ok {
				return ref
			}
			if v == nil {
				return ""
			}
			return fmt.Sprint(v)
		})
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[k] = substituteMatrix(v, vals)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			out[i] = substituteMatrix(v, vals)
		}
		return out
	}
	return x
}

func lookupMatrix(vals map[string]any, name, path string) (any, bool) {
	v, ok := vals[name]
	if !ok {
		return nil, false
	}
	if path == "" {
		return v, true
	}
	v, problem := field(v, strings.Split(path[1:], "."))
	return v, problem == ""
}

// firstMatrixRef names the matrix key of the first ${matrix...} in a value, or "".
func firstMatrixRef(x any) string {
	switch t := x.(type) {
	case string:
		if m := matrixRefPattern().FindStringSubmatch(t); m != nil {
			return m[1]
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(t)) {
			if n := firstMatrixRef(t[k]); n != "" {
				return n
			}
		}
	case []any:
		for _, v := range t {
			if n := firstMatrixRef(v); n != "" {
				return n
			}
		}
	}
	return ""
}

// scanMatrixUses finds the matrix references of an input built in code (no positions).
func scanMatrixUses(input map[string]any) []matrixUse {
	var out []matrixUse
	var walk func(x any)
	walk = func(x any) {
		switch t := x.(type) {
		case string:
			for _, m := range matrixRefPattern().FindAllStringSubmatchIndex(t, -1) {
				u := matrixUse{Name: t[m[2]:m[3]], Ref: t[m[0]:m[1]], whole: m[0] == 0 && m[1] == len(t)}
				if m[5] > m[4] {
					u.Path = strings.Split(t[m[4]+1:m[5]], ".")
				}
				out = append(out, u)
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(t)) {
				walk(t[k])
			}
		case []any:
			for _, v := range t {
				walk(v)
			}
		}
	}
	walk(input)
	return out
}

// attributed is a diagnostic found in one expansion of a matrix step.
type attributed struct {
	d    Diagnostic
	step string // the expansion
	o    *Origin
}

// attribute moves diagnostics of expansion s to the matrix value that caused them, where
// one did.
func attribute(ds Diagnostics, s *Step) []attributed {
	out := make([]attributed, len(ds))
	for i, d := range ds {
		if at, ok := s.Origin.remap[d.Pos]; ok {
			d.Pos = at
		} else if at, ok := s.Origin.keyValue[d.Pos]; ok && d.Severity == Error {
			d.Pos = at
		}
		out[i] = attributed{d: d, step: s.ID, o: s.Origin}
	}
	return out
}

// mergeExpansions names the expansion in each diagnostic, and reports a problem that
// several expansions share once, naming them all. To find what they share, a message
// speaks of matrix steps by their template ids ("add gen to depends_on", not "add gen-fr").
func mergeExpansions(x *Pipeline, list []attributed) Diagnostics {
	if len(list) == 0 {
		return nil
	}
	type key struct {
		Diagnostic
		tmpl string
	}
	byTemplate := map[string][]string{}
	for _, s := range x.Steps {
		if s.Origin != nil {
			byTemplate[s.Origin.Template] = append(byTemplate[s.Origin.Template], s.ID)
		}
	}
	for t := range byTemplate {
		ids := byTemplate[t]
		sort.Slice(ids, func(i, j int) bool { return len(ids[i]) > len(ids[j]) })
	}
	var order []key
	groups := map[key][]attributed{}
	for _, a := range list {
		d := a.d
		for t, ids := range byTemplate {
			if strings.Contains(d.Message, t) {
				d.Message = replaceIDs(d.Message, ids, t)
			}
		}
		k := key{d, a.o.Template}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], a)
	}
	out := make(Diagnostics, 0, len(order))
	for _, k := range order {
		g := groups[k]
		if len(g) == 1 {
			d := g[0].d
			if !strings.Contains(d.Message, strconv.Quote(g[0].step)) {
				d.Message += " (in expansion " + g[0].step + ")"
			}
			out = append(out, d)
			continue
		}
		d := k.Diagnostic
		var ids []string
		for _, a := range g {
			if len(ids) == 0 || ids[len(ids)-1] != a.step {
				ids = append(ids, a.step)
			}
		}
		switch {
		case len(ids) == g[0].o.Count:
			d.Message += fmt.Sprintf(" (in all %d expansions of %s)", len(ids), k.tmpl)
		case len(ids) > 4:
			d.Message += fmt.Sprintf(" (in expansions %s and %d more)", strings.Join(ids[:3], ", "), len(ids)-3)
		default:
			d.Message += " (in expansions " + strings.Join(ids, ", ") + ")"
		}
		out = append(out, d)
	}
	return out
}

// largestMatrix locates the matrix that made the most steps, for the step-limit error.
func (p *Pipeline) largestMatrix() Pos {
	best, at := 0, p.StepsPos
	for _, m := range p.expanded {
		if m.Count <= best {
			continue
		}
		for i := range p.Steps {
			if o := p.Steps[i].Origin; o != nil && o.Template == m.Step {
				best = m.Count
				at = firstPos(o.matrixPos, p.Steps[i].Pos, p.StepsPos)
				break
			}
		}
	}
	return at
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

// replaceIDs replaces each of ids in msg by with, where it stands as a whole id (not inside
// a longer name).
func replaceIDs(msg string, ids []string, with string) string {
	idRune := func(r rune) bool { return r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	for _, id := range ids {
		var b strings.Builder
		rest := msg
		for {
			i := strings.Index(rest, id)
			if i < 0 {
				b.WriteString(rest)
				break
			}
			before, _ := utf8.DecodeLastRuneInString(rest[:i])
			after, _ := utf8.DecodeRuneInString(rest[i+len(id):])
			whole := (i == 0 || !idRune(before)) && (i+len(id) == len(rest) || !idRune(after))
			b.WriteString(rest[:i])
			if whole {
				b.WriteString(with)
			} else {
				b.WriteString(id)
			}
			rest = rest[i+len(id):]
		}
		msg = b.String()
	}
	return msg
}
