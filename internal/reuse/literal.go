package reuse

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/pipeline"
)

// Literal is the value input_map entry key of step st takes from a source whose result is
// result, resolved as the server resolves it (PI-API.md: the path is split on "." and walks
// objects only), as a literal input: a copy the caller may keep. why is non-empty when the
// value cannot be passed as a literal, and says why in words: the mapping takes the whole
// result, the path holds nothing or null, or the consumer's contract refuses the value
// (what the server would refuse when it validates the step's input).
func Literal(st *pipeline.Step, key string, ref pipeline.Ref, result map[string]any) (v any, why string) {
	src := ref.Step
	if why := Passable(st, key, ref); why != "" {
		return nil, why
	}
	at := "result." + strings.Join(ref.Path, ".")
	v, found := walk(result, ref.Path)
	switch {
	case !found:
		return nil, fmt.Sprintf("%s has no %s for %s.%s", src, at, st.ID, key)
	case v == nil:
		return nil, fmt.Sprintf("%s's %s is null, which %s.%s cannot take", src, at, st.ID, key)
	}
	if a, ok := catalog.Lookup(st.Action); ok {
		if in, ok := a.Input(key); ok {
			if _, issues := catalog.ParseObject([]catalog.Input{*in}, map[string]any{key: v}); len(issues) > 0 {
				return nil, fmt.Sprintf("%s's %s does not fit %s.%s: %s", src, at, st.ID, key, issues[0].Message)
			}
		}
	}
	c, err := deepCopy(v)
	if err != nil {
		return nil, fmt.Sprintf("%s's %s cannot be sent as JSON: %v", src, at, err)
	}
	return c, ""
}

// Passable says, before any result is known, why the value input_map entry key of step st
// takes through ref can never be passed as a literal ("" when it may be: whether it is
// depends on the result, see Literal): a mapping of the whole result. Waves keep such a
// step in the server run of its source.
func Passable(st *pipeline.Step, key string, ref pipeline.Ref) (why string) {
	if ref.Path == nil {
		return fmt.Sprintf("%s maps the whole result of %s to %s, which pi does not pass as a literal", st.ID, ref.Step, key)
	}
	return ""
}

// walk follows path through nested objects; found is false when a key is missing or
// something on the way is not an object (the server has no array indexes).
func walk(result map[string]any, path []string) (v any, found bool) {
	if result == nil {
		return nil, false
	}
	v = result
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// deepCopy copies a JSON value, so a literal shares nothing with the result it came from.
// A value that JSON cannot encode is an error.
func deepCopy(v any) (any, error) {
	switch x := v.(type) {
	case string, bool, float64, int, int64, json.Number:
		return x, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := deepCopy(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := deepCopy(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case nil:
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}
