package pipeline

import (
	"fmt"
	"strings"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/spell"
)

// contract checks the input of step i against its action's contract (catalog.Check), as
// the server will when it creates the step's job in the middle of a run. Params are
// substituted first (defaults and -p values); a key that input_map supplies, or a param
// without a value, is known only at run time: it counts as given and is not checked.
// Each issue is reported at the offending value, else at its input key, else at the
// step's `input:` key, else at the step.
func (v *validator) contract(i int, a *catalog.Action) {
	s := &v.p.Steps[i]
	if v.reported(i, fInput) {
		return
	}
	input := make(map[string]any, len(s.Input)+len(s.InputMap))
	var from map[string]string
	for k, val := range s.Input {
		if str, ok := val.(string); ok && strings.Contains(str, paramsNS.prefix) {
			if from == nil {
				from = map[string]string{}
			}
			from[k] = str
		}
		input[k] = v.resolveParams(val)
		if v.budget.spent() {
			v.budget.reported = true
			// The bound is the file's, not an expansion's: at the step's input as written.
			v.errorf(at{step: v.prov.parsed(i), path: "input." + k}, CodeExpansionTooBig, "%s (at step %s)", tooBigText(), stepName(s.ID))
			return
		}
	}
	for k := range s.InputMap {
		input[k] = catalog.Unknown{}
	}
	inputKey := v.keyAt(i, "input")
	refs := stepRefsIn(s.Input, a)
	var missing []string
	nested := false // an input missing because input_map is written under input
	for _, is := range catalog.Check(a.Name, input) {
		key, _ := is.Path[0].(string)
		if is.Missing() && len(is.Path) == 1 {
			if v.nestedInputMap(i, a, key) {
				nested = true
				continue
			}
			missing = append(missing, key)
			continue
		}
		if is.Group != nil {
			if !v.reported(i, fInputMap) {
				nested = v.group(i, a, is.Group, inputKey) || nested
			}
			continue
		}
		suffix := ""
		if f, ok := from[key]; ok {
			suffix = fmt.Sprintf(" (from %q)", f)
		}
		if r, ok := refs[is.PathString()]; ok {
			suffix += fmt.Sprintf(" (%q is a step reference: those go in input_map, beside input, which the server resolves; in input it is text)", r)
			delete(refs, is.PathString())
		}
		v.errorf(v.valueAt(i, is.Path, inputKey), CodeInput, "input.%s of %s: %s%s", is.PathString(), a.Name, is.Message, detail(is)+suffix)
	}
	if len(missing) > 0 && !v.reported(i, fInputMap) {
		v.errorf(inputKey, CodeMissingInput, "step %q: %s needs input %s (in input, or supplied by input_map)", stepID(s.ID), a.Name, strings.Join(missing, " and "))
	}
	forSorted(refs, func(path string) {
		v.warnf(v.stepAt(i, "input."+path), CodeRefInInput, "input.%s is the text %q: step references go in input_map, beside input (the server does not resolve them in input)", path, refs[path])
	})
	v.notes(i, a, input, inputKey)
	v.unknownKeys(i, a, nested)
}

// detail adds to the server's words what they leave out: what an empty YAML value is, and
// the values an invalid_union of an enum takes ("Invalid input").
func detail(is catalog.Issue) string {
	const null = " (an empty YAML value is null, which the server refuses even for an optional input: give a value or remove the key)"
	switch {
	case is.Code == "invalid_type" && is.Received == "null":
		return null
	case is.Code == "invalid_enum_value":
		if s, isStr := is.Value.(string); isStr {
			if near := nearestOption(s, is.Options); near != "" {
				return fmt.Sprintf(" (did you mean %q?)", near)
			}
		}
		return ""
	case is.Code != "invalid_union" || len(is.UnionErrors) < 2:
		return ""
	}
	var opts []string
	for _, alt := range is.UnionErrors {
		for _, e := range alt {
			switch {
			case e.Code == "invalid_literal":
				opts = append(opts, e.Expected)
			case len(e.Options) > 0:
				opts = append(opts, e.Options...)
			case e.Code == "invalid_type": // an enum's type issue names its values: 'a' | 'b'
				for o := range strings.SplitSeq(e.Expected, " | ") {
					opts = append(opts, strings.Trim(o, "'"))
				}
			}
		}
	}
	if is.UnionErrors[0][0].Value == nil {
		return null[:len(null)-1] + "; it takes " + strings.Join(opts, ", ") + ")"
	}
	return fmt.Sprintf(" (received %s; it takes %s)", describeValue(is.UnionErrors[0][0].Value), strings.Join(opts, ", "))
}

// nestedInputMap reports, as an error, that required input key of step i is missing
// because input_map is written under input (where the server drops it).
func (v *validator) nestedInputMap(i int, a *catalog.Action, key string) bool {
	nested, ok := v.p.Steps[i].Input["input_map"].(map[string]any)
	if _, isInput := a.Input("input_map"); !ok || isInput {
		return false
	}
	if _, ok := nested[key]; !ok {
		return false
	}
	v.errorf(v.keyAt(i, "input.input_map"), CodeNestedInputMap, "step %q: %s needs input %s, which input_map gives, but input_map is under input here: input_map belongs beside input, one level up", stepID(v.p.Steps[i].ID), a.Name, key)
	return true
}

// notes warns about the values the server accepts but will misread (catalog.Notes).
func (v *validator) notes(i int, a *catalog.Action, input map[string]any, inputKey at) {
	for _, n := range catalog.Notes(a.Name, input) {
		v.warnf(v.valueAt(i, n.Path, inputKey), CodeImage, "input.%s of %s: %s", catalog.JoinPath(n.Path), a.Name, n.Message)
	}
}

// stepRefsIn finds the strings of an input written as step references ($steps.x.result),
// by their dotted path; not under an input_map written under input (reported as such).
func stepRefsIn(input map[string]any, a *catalog.Action) map[string]string {
	var refs map[string]string
	var walk func(path string, x any)
	walk = func(path string, x any) {
		switch t := x.(type) {
		case string:
			if _, ok := ParseRef(t); ok {
				if refs == nil {
					refs = map[string]string{}
				}
				refs[path] = t
			}
		case map[string]any:
			for k, val := range t {
				walk(path+"."+k, val)
			}
		case []any:
			for k, val := range t {
				walk(fmt.Sprintf("%s.%d", path, k), val)
			}
		}
	}
	for k, val := range input {
		if _, isInput := a.Input(k); k != "input_map" || isInput {
			walk(k, val)
		}
	}
	return refs
}

// group reports a broken exactly-one-of or at-least-one-of rule, at the value the server
// reports it on when the step has one.
func (v *validator) group(i int, a *catalog.Action, g *catalog.Group, inputKey at) (nested bool) {
	s := &v.p.Steps[i]
	var given []string
	for _, k := range g.Inputs {
		if val, ok := s.Input[k]; ok && val != nil {
			if l, isList := val.([]any); !isList || len(l) > 0 {
				given = append(given, k)
			}
			continue
		}
		if _, ok := s.InputMap[k]; ok {
			given = append(given, k)
		}
	}
	names := strings.Join(g.Inputs, ", ")
	if len(given) == 0 {
		for _, k := range g.Inputs {
			if v.nestedInputMap(i, a, k) {
				return true
			}
		}
	}
	switch {
	case len(given) == 0 && !g.Exactly:
		v.errorf(inputKey, CodeMissingInput, "step %q: %s needs at least one of %s", stepID(s.ID), a.Name, names)
	case len(given) == 0:
		v.errorf(inputKey, CodeMissingInput, "step %q: %s needs exactly one of %s", stepID(s.ID), a.Name, names)
	default:
		v.errorf(v.inputAt(i, g.Path, inputKey), CodeOneOf, "step %q: %s takes exactly one of %s, got %s (remove all but one)", stepID(s.ID), a.Name, names, strings.Join(given, " and "))
	}
	return false
}

// valueAt is where the value at path (in the input) is written: the innermost value the
// file writes, or the input_map entry that supplies its key.
func (v *validator) valueAt(i int, path []any, fallback at) at {
	t := v.prov.parsed(i)
	for n := len(path); n > 0; n-- {
		if p := "input." + catalog.JoinPath(path[:n]); v.src.known(t, p) {
			return v.stepAt(i, "input."+catalog.JoinPath(path))
		}
	}
	key, _ := path[0].(string)
	return v.inputAt(i, key, fallback)
}

// inputAt is where input key is given: its value, else the input_map entry that supplies
// it, else its key, else fallback.
func (v *validator) inputAt(i int, key string, fallback at) at {
	t := v.prov.parsed(i)
	switch {
	case v.src.known(t, "input."+key):
		return v.stepAt(i, "input."+key)
	case v.src.known(t, "input_map."+key):
		return v.stepAt(i, "input_map."+key)
	}
	return fallback
}

// resolveParams substitutes the params in a value; a reference to a param without a value
// (reported on its own) becomes catalog.Unknown.
func (v *validator) resolveParams(x any) any {
	switch t := x.(type) {
	case string:
		if !strings.Contains(t, paramsNS.prefix) {
			return t
		}
		var missing []string
		out := substituteParams(t, v.paramValues, &missing, v.budget)
		if str, isStr := out.(string); len(missing) > 0 || (isStr && strings.Contains(str, paramsNS.prefix)) {
			return catalog.Unknown{} // reported as an undefined or malformed param
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if v.budget.spent() {
				break
			}
			out[k] = v.resolveParams(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			if v.budget.spent() {
				break
			}
			out[i] = v.resolveParams(val)
		}
		return out
	}
	return x
}

// unknownKeys warns about keys the server drops without a word: unknown inputs, and
// unknown keys of the objects it knows the fields of (output, location).
// nested says input_map under input was already reported as an error.
func (v *validator) unknownKeys(i int, a *catalog.Action, nested bool) {
	s := &v.p.Steps[i]
	known := a.InputNames()
	forSorted(s.Input, func(k string) {
		if in, ok := a.Input(k); ok {
			if in.Fields != nil {
				v.unknownFields(i, a, k, in.Fields, s.Input[k])
			}
			return
		}
		if k == "input_map" || k == "depends_on" {
			if !nested || k != "input_map" {
				v.warnf(v.keyAt(i, "input."+k), CodeNestedInputMap, "%s is under input here, where the server drops it: %s belongs beside input, one level up", k, k)
			}
			return
		}
		if why, dropped := a.DropReason(k); dropped {
			v.warnf(v.keyAt(i, "input."+k), CodeUnknownInput, "%s has no input %q: the server drops it (%s)", a.Name, k, why)
			return
		}
		v.warnf(v.keyAt(i, "input."+k), CodeUnknownInput, "%s has no input %q%s: the server drops it (inputs: %s)", a.Name, k, suggest(k, known), strings.Join(known, ", "))
	})
	forSorted(s.InputMap, func(k string) {
		if _, ok := a.Input(k); !ok {
			v.warnf(v.keyAt(i, "input_map."+k), CodeUnknownInput, "input_map.%s: %s has no input %q%s: the server drops it", k, a.Name, k, suggest(k, known))
		}
	})
}

func (v *validator) unknownFields(i int, a *catalog.Action, path string, fields []catalog.Input, val any) {
	obj, ok := val.(map[string]any)
	if !ok {
		return
	}
	names := make([]string, len(fields))
	for k, f := range fields {
		names[k] = f.Name
	}
	forSorted(obj, func(k string) {
		if !contains(names, k) {
			where := v.stepAt(i, "input."+path+"."+k)
			if !v.src.known(v.prov.parsed(i), where.path) {
				where = v.keyAt(i, "input."+path) // a value a matrix or param put there
			}
			v.warnf(where, CodeUnknownInput, "input.%s of %s has no key %q%s: the server drops it (keys: %s)", path, a.Name, k, suggest(k, names), strings.Join(names, ", "))
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mapped checks what an input_map entry connects: the kind of the result field against
// the kind of the input, and a source_job_id against the job types the action accepts.
func (v *validator) mapped(i int, a *catalog.Action, key string, ref Ref, src *Step, where at) {
	srcAction, ok := catalog.Lookup(src.Action)
	if !ok {
		return
	}
	to, ok := a.Input(key)
	if !ok {
		return
	}
	if key == "source_job_id" && len(a.SourceJobTypes) > 0 && srcAction.JobType != "" && !a.AcceptsSource(srcAction.JobType) {
		v.errorf(where, CodeRefSource, "input_map.source_job_id: %s needs a %s job; step %s is %s (take the job of such a step)", a.Name, sourceNames(a), stepID(src.ID), src.Action)
		return
	}
	kind := catalog.Object // the whole result
	switch {
	case len(ref.Path) > 1:
		return // inside a field: known only at run time
	case len(ref.Path) == 1:
		f, ok := srcAction.Field(ref.Path[0])
		if !ok {
			return // warned about: no such field
		}
		kind = f.Kind
	}
	switch {
	case catalog.Accepts(to, kind):
	case srcAction.Local && kind == catalog.String && to.Kind == catalog.UUID:
		// a local step's text may hold an id (stdout of a script): only the server can tell
		v.warnf(where, CodeRefKind, "input_map.%s: %s takes a uuid, and %s is any string: the server refuses it unless it is exactly a uuid (no newline)", key, key, refExpr{ref})
	default:
		v.errorf(where, CodeRefKind, "input_map.%s: %s takes %s, but %s is %s", key, key, catalog.KindName(to.Kind), refExpr{ref}, catalog.KindName(kind))
	}
}

// sourceNames names the actions whose jobs can be a source: "generate or edit".
func sourceNames(a *catalog.Action) string {
	var names []string
	for _, t := range a.SourceJobTypes {
		if src, ok := catalog.ByJobType(t); ok {
			names = append(names, src.Name[strings.LastIndex(src.Name, ".")+1:])
		}
	}
	return strings.Join(names, " or ")
}

// nearestOption is the enum value s most likely stands for: one that differs only by case
// (2k for 2K), else the nearest by spell.Nearest for a value of 3 characters or more (a
// shorter one is a small edit from too many values: 5k from 1K, 2K and 4K alike); "" for
// none.
func nearestOption(s string, options []string) string {
	for _, o := range options {
		if strings.EqualFold(strings.TrimSpace(s), o) && s != o {
			return o
		}
	}
	if len([]rune(s)) < 3 {
		return ""
	}
	return spell.Nearest(s, options)
}
