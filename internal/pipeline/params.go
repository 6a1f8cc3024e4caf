package pipeline

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// paramValues are the values of p's params: the file's defaults, then the valid -p
// overrides (invalid ones are ignored here; validation reports them).
func paramValues(p *Pipeline, overrides map[string]string) map[string]any {
	if len(p.Params) == 0 {
		return nil
	}
	values := make(map[string]any, len(p.Params))
	for name, prm := range p.Params {
		values[name] = prm.Value
		if raw, ok := overrides[name]; ok {
			if val, err := overrideValue(name, raw, prm.Value); err == nil {
				values[name] = val
			}
		}
	}
	return values
}

// withParams returns the expanded pipeline x whose step inputs have every
// `${params.NAME}` replaced: by overrides[NAME] when given (`pi run -p NAME=VALUE`), else
// by the default of the file's params section. A string that is only a reference takes the
// value itself, type included (a number stays a number); a reference inside a longer string
// is formatted into it. An override of a param whose default is not a string is read as a
// YAML scalar, so `-p count=3` is the number 3. p is the parsed pipeline, whose params
// these are; neither is modified, and inputs without params are shared with x.
func withParams(p, x *Pipeline, overrides map[string]string) (*Pipeline, error) {
	values := make(map[string]any, len(p.Params))
	for name, prm := range p.Params {
		values[name] = prm.Value
	}
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		prm, ok := p.Params[name]
		if !ok {
			defined := slices.Sorted(maps.Keys(p.Params))
			return nil, fmt.Errorf("-p %s: the pipeline defines no param %q%s", name, name, suggestOr(name, defined, definedList(defined)))
		}
		val, err := overrideValue(name, overrides[name], prm.Value)
		if err != nil {
			return nil, err
		}
		values[name] = val
	}
	out := *x
	out.Params = make(map[string]Param, len(p.Params))
	for name := range p.Params {
		out.Params[name] = Param{Value: values[name]}
	}
	if len(p.Params) == 0 {
		// Nothing to substitute: a reference is to a param nobody defined.
		out.Steps = x.Steps
		return &out, missingParams(x)
	}
	out.Steps = make([]Step, len(x.Steps))
	var missing []string
	b := newBudget()
	for i, s := range x.Steps {
		if s.Input != nil {
			if in, ok := substituteParams(s.Input, values, &missing, b).(map[string]any); ok {
				s.Input = in
			}
		}
		if b.spent() {
			return nil, fmt.Errorf("step %s: %s", stepName(s.ID), tooBigText())
		}
		out.Steps[i] = s
	}
	if len(missing) > 0 {
		return nil, undefinedParams(missing)
	}
	return &out, nil
}

// missingParams is the error of the references in x when it has no params at all.
func missingParams(x *Pipeline) error {
	var missing []string
	b := newBudget()
	for _, s := range x.Steps {
		substituteParams(s.Input, nil, &missing, b)
	}
	if len(missing) > 0 {
		return undefinedParams(missing)
	}
	return nil
}

func undefinedParams(missing []string) error {
	sort.Strings(missing)
	return fmt.Errorf("undefined param %s: define it under params: or fix the reference", strings.Join(slices.Compact(missing), ", "))
}

// substituteParams returns x with param references replaced by their values
// (interpolate.go), what it makes charged to b; the names without a value are added to
// missing.
func substituteParams(x any, values map[string]any, missing *[]string, b *budget) any {
	return paramsNS.interpolate(x, b, func(r reference) (any, bool) {
		v, ok := values[r.name]
		if !ok {
			*missing = append(*missing, r.name)
		}
		return v, ok
	})
}

func overrideValue(name, raw string, def any) (any, error) {
	switch def.(type) {
	case nil, string:
		return raw, nil
	}
	var v any
	if err := yaml.Unmarshal([]byte(raw), &v); err != nil {
		return nil, fmt.Errorf("-p %s=%s: not a valid value: %w", name, raw, err)
	}
	if fmt.Sprintf("%T", v) != fmt.Sprintf("%T", def) {
		if _, isFloat := def.(float64); !isFloat || fmt.Sprintf("%T", v) != "int" {
			return nil, fmt.Errorf("-p %s=%s: the default of %s is %s (%s), so give a value of that type", name, raw, name, defaultText(def), typeName(def))
		}
		v = float64(v.(int))
	}
	return v, nil
}

// defaultText is a param's default as it could be written back after -p: JSON (a list
// reads [French urban premium, ...] as YAML too), not Go's fmt of a map or slice.
func defaultText(v any) string {
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

func typeName(v any) string {
	switch v.(type) {
	case int, int64, uint64, float64:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}
