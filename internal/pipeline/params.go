package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// WithParams returns a copy of the pipeline, its matrix steps expanded (Expand), whose step
// inputs have every `${params.NAME}`
// replaced: by overrides[NAME] when given (`pi run -p NAME=VALUE`), else by the default of
// the file's params section. A string that is only a reference takes the value itself, type
// included (a number stays a number); a reference inside a longer string is formatted into
// it. An override of a param whose default is not a string is read as a YAML scalar, so
// `-p count=3` is the number 3. The receiver is not modified.
func (p *Pipeline) WithParams(overrides map[string]string) (*Pipeline, error) {
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
	x, ds := p.expand(values) // matrix steps become the steps they stand for
	if ds.HasErrors() {
		return nil, ds.Errors()
	}
	out := *x
	out.Params = make(map[string]Param, len(p.Params))
	for name, prm := range p.Params {
		out.Params[name] = Param{Value: values[name], Pos: prm.Pos}
	}
	out.Steps = make([]Step, len(x.Steps))
	var missing []string
	for i, s := range x.Steps {
		if s.Input != nil {
			in, ok := substitute(s.Input, values, &missing).(map[string]any)
			if ok {
				s.Input = in
			}
		}
		out.Steps[i] = s
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("undefined param %s: define it under params: or fix the reference", strings.Join(uniq(missing), ", "))
	}
	return &out, nil
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
			return nil, fmt.Errorf("-p %s=%s: the default of %s is %v (%s), so give a value of that type", name, raw, name, def, typeName(def))
		}
		v = float64(v.(int))
	}
	return v, nil
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

// substitute returns x with param references replaced; it copies maps and lists so the
// original input is never shared with the result.
func substitute(x any, values map[string]any, missing *[]string) any {
	switch t := x.(type) {
	case string:
		if !strings.Contains(t, "${params.") {
			return t
		}
		if m := paramOnlyPattern().FindStringSubmatch(t); m != nil {
			val, ok := values[m[1]]
			if !ok {
				*missing = append(*missing, m[1])
				return t
			}
			return val
		}
		return paramRefPattern().ReplaceAllStringFunc(t, func(ref string) string {
			name := paramRefPattern().FindStringSubmatch(ref)[1]
			val, ok := values[name]
			if !ok {
				*missing = append(*missing, name)
				return ref
			}
			if val == nil {
				return ""
			}
			return fmt.Sprint(val)
		})
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[k] = substitute(v, values, missing)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			out[i] = substitute(v, values, missing)
		}
		return out
	}
	return x
}

func uniq(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// ValidParamName reports whether name can be a param: letters, digits, _ and -, starting
// with a letter or _ (what `${params.NAME}` can refer to).
func ValidParamName(name string) bool { return paramNamePattern().MatchString(name) }
