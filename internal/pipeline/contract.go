package pipeline

import (
	"fmt"
	"strings"

	"github.com/pi-cli/pi/internal/catalog"
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
	}
	for k := range s.InputMap {
		input[k] = catalog.Unknown{}
	}
	inputKey := v.keyAt(i, "input")
	var missing []string
	for _, is := range catalog.Check(a.Name, input) {
		key, _ := is.Path[0].(string)
		if is.Missing() && len(is.Path) == 1 {
			missing = append(missing, key)
			continue
		}
		if is.Group != nil {
			if !v.reported(i, fInputMap) {
				v.group(i, a, is.Group, inputKey)
			}
			continue
		}
		suffix := ""
		if f, ok := from[key]; ok {
			suffix = fmt.Sprintf(" (from %q)", f)
		}
		v.errorf(v.valueAt(i, is.Path, inputKey), CodeInput, "input.%s of %s: %s%s", is.PathString(), a.Name, is.Message, suffix)
	}
	if len(missing) > 0 && !v.reported(i, fInputMap) {
		v.errorf(inputKey, CodeMissingInput, "step %q: %s needs input %s (in input, or supplied by input_map)", stepID(s.ID), a.Name, strings.Join(missing, " and "))
	}
	v.unknownKeys(i, a)
}

// group reports a broken exactly-one-of or at-least-one-of rule, at the value the server
// reports it on when the step has one.
func (v *validator) group(i int, a *catalog.Action, g *catalog.Group, inputKey at) {
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
	switch {
	case len(given) == 0 && !g.Exactly:
		v.errorf(inputKey, CodeMissingInput, "step %q: %s needs at least one of %s", stepID(s.ID), a.Name, names)
	case len(given) == 0:
		v.errorf(inputKey, CodeMissingInput, "step %q: %s needs exactly one of %s", stepID(s.ID), a.Name, names)
	default:
		v.errorf(v.inputAt(i, g.Path, inputKey), CodeOneOf, "step %q: %s takes exactly one of %s, got %s (remove all but one)", stepID(s.ID), a.Name, names, strings.Join(given, " and "))
	}
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
		out := substituteParams(t, v.paramValues, &missing)
		if str, isStr := out.(string); len(missing) > 0 || (isStr && strings.Contains(str, paramsNS.prefix)) {
			return catalog.Unknown{} // reported as an undefined or malformed param
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[k] = v.resolveParams(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = v.resolveParams(val)
		}
		return out
	}
	return x
}

// unknownKeys warns about keys the server drops without a word: unknown inputs, and
// unknown keys of the objects it knows the fields of (output, location).
func (v *validator) unknownKeys(i int, a *catalog.Action) {
	s := &v.p.Steps[i]
	known := a.InputNames()
	forSorted(s.Input, func(k string) {
		if in, ok := a.Input(k); ok {
			if in.Fields != nil {
				v.unknownFields(i, a, k, in.Fields, s.Input[k])
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
