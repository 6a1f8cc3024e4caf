package catalog

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Unknown stands for an input value known only at run time (supplied by input_map, or a
// param without a value): it counts as given and is not checked.
type Unknown struct{}

// Check returns what the server would refuse in the input of the named action, in the
// server's order and wording; nil when it accepts it (or the action is not in the
// catalog). It is zod v3's parse of the action's schema (the server's src/contracts/*.ts
// and src/lib/brand-extraction.ts): a null value is refused even for an optional key, a
// wrongly typed value stops the action's group checks, unknown keys are not issues (the
// server drops them).
func Check(action string, input map[string]any) []Issue {
	_, issues := Parse(action, input)
	return issues
}

// Parse is Check that also returns the input as the server keeps it: known keys only,
// trimmed strings trimmed.
func Parse(action string, input map[string]any) (map[string]any, []Issue) {
	a, ok := Lookup(action)
	if !ok {
		return input, nil
	}
	return a.Parse(input)
}

// Parse checks input against the action's contract (see Check).
func (a *Action) Parse(input map[string]any) (map[string]any, []Issue) {
	c := &checker{}
	out, aborted := c.fields(a.Inputs, input, nil)
	if !aborted {
		// zod runs an object's refinements only when no field's parse was aborted
		// (a wrong type, a null, a bad enum value), and on the parsed values.
		for _, g := range a.Groups {
			c.group(g, out)
		}
	}
	return out, c.issues
}

// ObjectIssue is the issue of a request body that is JSON but not an object (an object
// schema's invalid_type at the empty path); nil for an object.
func ObjectIssue(body any) []Issue {
	if _, ok := body.(map[string]any); ok {
		return nil
	}
	c := &checker{}
	c.typeIssue(&Input{Kind: Object}, body, nil)
	return c.issues
}

// ParseObject checks obj against a schema of fields, as Parse does for an action's input:
// for bodies that are not an action's input (the Runs API's).
func ParseObject(fields []Input, obj map[string]any) (map[string]any, []Issue) {
	c := &checker{}
	out, _ := c.fields(fields, obj, nil)
	return out, c.issues
}

type checker struct{ issues []Issue }

func (c *checker) add(i Issue) { c.issues = append(c.issues, i) }

func extend(path []any, p any) []any {
	out := make([]any, len(path), len(path)+1)
	copy(out, path)
	return append(out, p)
}

// fields checks the known keys of an object in the server's order. aborted is zod's
// "some field's parse was aborted".
func (c *checker) fields(fields []Input, obj map[string]any, path []any) (map[string]any, bool) {
	out := make(map[string]any, len(fields))
	aborted := false
	for i := range fields {
		f := &fields[i]
		v, ok := obj[f.Name]
		p := extend(path, f.Name)
		if !ok {
			if f.Required {
				c.add(Issue{Code: "invalid_type", Path: p, Message: "Required", Expected: zodType(f), Received: "undefined", byEnum: f.Kind == Enum})
				aborted = true
			}
			continue
		}
		val, ab := c.value(f, v, p)
		aborted = aborted || ab
		out[f.Name] = val
	}
	return out, aborted
}

// zodType is the type zod names in invalid_type for an input.
func zodType(in *Input) string {
	switch in.Kind {
	case List:
		return "array"
	case Object:
		return "object"
	case Integer:
		return "number"
	case Enum:
		return enumList(in.Enum)
	}
	return "string"
}

func enumList(opts []string) string {
	q := make([]string, len(opts))
	for i, o := range opts {
		q[i] = "'" + o + "'"
	}
	return strings.Join(q, " | ")
}

// parsedType is zod's name for the type of a decoded JSON value.
func parsedType(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if math.IsNaN(t) {
			return "nan"
		}
		return "number"
	case int, int64, uint64, float32, int32, uint32, json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func (c *checker) typeIssue(in *Input, v any, path []any) {
	exp := zodType(in)
	got := parsedType(v)
	c.add(Issue{Code: "invalid_type", Path: path, Expected: exp, Received: got, byEnum: in.Kind == Enum,
		Message: fmt.Sprintf("Expected %s, received %s", exp, got)})
}

// jsLength is a string's length as JavaScript counts it (UTF-16 code units).
func jsLength(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// jsTrim trims what String.prototype.trim trims (Go's unicode.IsSpace plus the BOM).
func jsTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return r == '\ufeff' || r == '\u00a0' || r == '\u1680' || (r >= '\u2000' && r <= '\u200a') ||
			r == '\u2028' || r == '\u2029' || r == '\u202f' || r == '\u205f' || r == '\u3000' ||
			r == ' ' || (r >= '\t' && r <= '\r')
	})
}

// value checks one present value. aborted is zod's "the parse was aborted" (a wrong type,
// null included, or a bad enum value): the checks of the objects around it (their groups)
// are then not run. Length and format issues do not abort.
func (c *checker) value(in *Input, v any, path []any) (any, bool) {
	if _, later := v.(Unknown); later {
		return v, false
	}
	if in.Kind == Any {
		return v, false
	}
	if v == nil {
		if in.Union != "" {
			c.unionIssue(in, v, path)
		} else {
			c.typeIssue(in, v, path)
		}
		return v, true
	}
	switch in.Kind {
	case String, UUID, URL, HTTPURL, Image:
		return c.str(in, v, path)
	case Enum:
		return c.enum(in, v, path)
	case Integer:
		f, ok := number(v)
		if !ok {
			c.typeIssue(in, v, path)
			return v, true
		}
		if f != math.Trunc(f) {
			c.add(Issue{Code: "invalid_type", Path: path, Expected: "integer", Received: "float", Message: "Expected integer, received float"})
			return v, true
		}
		return v, false
	case List:
		return c.list(in, v, path)
	case Object:
		return c.object(in, v, path)
	}
	return v, false
}

// str checks a string: trimmed first when the input is, then its length, then its format.
func (c *checker) str(in *Input, v any, path []any) (any, bool) {
	s, ok := v.(string)
	if !ok {
		c.typeIssue(in, v, path)
		return v, true
	}
	if in.Trim {
		s = jsTrim(s)
	}
	c.length(in, jsLength(s), "string", path)
	switch in.Kind {
	case UUID:
		if !IsUUID(s) {
			c.add(Issue{Code: "invalid_string", Validation: "uuid", Path: path, Message: "Invalid uuid"})
		}
	case URL:
		if !IsURL(s) {
			c.add(Issue{Code: "invalid_string", Validation: "url", Path: path, Message: "Invalid url"})
		}
	case HTTPURL:
		// A local action's URL, fetched by Go's client: net/url's rules.
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.add(Issue{Code: "invalid_string", Validation: "url", Path: path, Message: "Invalid url: expected http or https"})
		}
	}
	// Image: the server's schema takes any string; Notes says what its image code does.
	return s, false
}

func (c *checker) enum(in *Input, v any, path []any) (any, bool) {
	s, ok := v.(string)
	if ok && slices.Contains(in.Enum, s) {
		return s, false
	}
	switch {
	case in.Union != "":
		c.unionIssue(in, v, path)
	case !ok:
		c.typeIssue(in, v, path)
	default:
		c.add(Issue{Code: "invalid_enum_value", Path: path, Options: in.Enum, Value: s,
			Message: fmt.Sprintf("Invalid enum value. Expected %s, received '%s'", enumList(in.Enum), s)})
	}
	return v, true
}

// unionIssue is zod's invalid_union for an enum the server writes as
// z.union([z.literal(in.Union), z.enum(the others)]), with each alternative's issue.
func (c *checker) unionIssue(in *Input, v any, path []any) {
	lit := Issue{Code: "invalid_literal", Path: path, Expected: in.Union, Value: v,
		Message: fmt.Sprintf("Invalid literal value, expected %q", in.Union)}
	rest := &Input{Kind: Enum, Enum: slices.DeleteFunc(slices.Clone(in.Enum), func(o string) bool { return o == in.Union })}
	alt := &checker{}
	alt.enum(rest, v, path)
	c.add(Issue{Code: "invalid_union", Path: path, Message: "Invalid input", UnionErrors: [][]Issue{{lit}, alt.issues}})
}

func (c *checker) list(in *Input, v any, path []any) (any, bool) {
	list, ok := v.([]any)
	if !ok {
		c.typeIssue(in, v, path)
		return v, true
	}
	c.length(in, len(list), "array", path)
	out := make([]any, len(list))
	aborted := false
	for k, item := range list {
		val, ab := c.value(in.Item, item, extend(path, k))
		out[k] = val
		aborted = aborted || ab
	}
	return out, aborted
}

// object checks an object: its known fields, or every value of a record (metadata). A
// record drops a __proto__ key, after checking its value, as zod's record parse does, so it
// does not count toward the record's keys.
func (c *checker) object(in *Input, v any, path []any) (any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		c.typeIssue(in, v, path)
		return v, true
	}
	if in.Fields != nil {
		return c.fields(in.Fields, obj, path)
	}
	out := make(map[string]any, len(obj))
	aborted := false
	for _, k := range jsKeyOrder(obj) {
		val := obj[k]
		if in.Values != nil {
			var ab bool
			val, ab = c.value(in.Values, val, extend(path, k))
			aborted = aborted || ab
		}
		if k != "__proto__" {
			out[k] = val
		}
	}
	if !aborted && in.Max > 0 && len(out) > in.Max {
		msg := in.TooMany
		if msg == "" {
			msg = fmt.Sprintf("Must have at most %d keys, got %d", in.Max, len(out))
		}
		c.add(Issue{Code: "custom", Path: path, Message: msg})
	}
	return out, aborted
}

// jsKeyOrder is the order JavaScript enumerates an object's keys in: integer keys
// ascending, then the others in insertion order, which a Go map has lost (sorted here).
func jsKeyOrder(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		na, aIdx := arrayIndex(a)
		nb, bIdx := arrayIndex(b)
		switch {
		case aIdx && bIdx:
			return int(na - nb)
		case aIdx:
			return -1
		case bIdx:
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// arrayIndex reads a key that JavaScript treats as an integer index ("0", "17", not "01").
func arrayIndex(k string) (int64, bool) {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseInt(k, 10, 64)
	return n, err == nil && n >= 0 && n < 1<<32-1
}

// length checks a string's or a list's length against the input's bounds.
func (c *checker) length(in *Input, n int, typ string, path []any) {
	unit := "character(s)"
	word := "String"
	if typ == "array" {
		unit, word = "element(s)", "Array"
	}
	exact := in.Min > 0 && in.Min == in.Max
	switch {
	case n < in.Min:
		how := "at least"
		if exact {
			how = "exactly"
		}
		c.add(Issue{Code: "too_small", Path: path, Bound: in.Min, Type: typ, Exact: exact,
			Message: fmt.Sprintf("%s must contain %s %d %s", word, how, in.Min, unit)})
	case in.Max > 0 && n > in.Max:
		how := "at most"
		if exact {
			how = "exactly"
		}
		c.add(Issue{Code: "too_big", Path: path, Bound: in.Max, Type: typ, Exact: exact,
			Message: fmt.Sprintf("%s must contain %s %d %s", word, how, in.Max, unit)})
	}
}

// group checks an exactly-one-of or at-least-one-of rule on the parsed values, as the
// server's refinements do: a value counts when it is truthy (a non-empty string once
// trimmed, a non-empty list, any object), or known only at run time.
func (c *checker) group(g Group, parsed map[string]any) {
	n := 0
	for _, k := range g.Inputs {
		if given(parsed[k]) {
			n++
		}
	}
	if (g.Exactly && n == 1) || (!g.Exactly && n >= 1) {
		return
	}
	c.add(Issue{Code: "custom", Path: []any{g.Path}, Message: g.Message(), Group: &g})
}

func given(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case bool:
		return t
	}
	if f, ok := number(v); ok {
		return f != 0 && !math.IsNaN(f)
	}
	return true
}

// Message is the server's message for a broken group.
func (g Group) Message() string {
	if g.Text != "" {
		return g.Text
	}
	names := strings.Join(g.Inputs[:len(g.Inputs)-1], ", ") + " or " + g.Inputs[len(g.Inputs)-1]
	if g.Exactly {
		return "Provide exactly one of " + names
	}
	return "Provide at least one of " + names
}

func number(v any) (float64, bool) {
	switch t := v.(type) {
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case uint64:
		return float64(t), true
	case float64:
		return t, true
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		return f, err == nil
	}
	return 0, false
}

// IsUUID reports whether s is a uuid as the server's validator accepts it: only the
// canonical 8-4-4-4-12 hex form (uuid.Parse also takes urn: and braces, which it refuses).
// It is pi's one uuid check.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// IsURL reports whether `new URL(s)` accepts s (the WHATWG URL Standard: ParseWebURL).
func IsURL(s string) bool {
	_, err := ParseWebURL(s)
	return err == nil
}
