package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
)

// Issue is one problem of an input, as the server's validator (zod) reports it.
type Issue struct {
	Code    string // invalid_type, too_small, too_big, invalid_string, invalid_enum_value, custom
	Path    []any  // keys (string) and list indexes (int) from the top of the input
	Message string

	Expected, Received string // invalid_type
	Bound              int    // too_small: minimum, too_big: maximum
	Type               string // too_small, too_big: "string", "array" or "object"
	Exact              bool   // too_small, too_big: the bound is an exact length
	Validation         string // invalid_string: "uuid" or "url"
	Options            []string
	Value              string // invalid_enum_value: the value received
}

// PathString is the dotted path the server puts in `param` ("output.aspect_ratio",
// "reference_images.1").
func (i Issue) PathString() string { return JoinPath(i.Path) }

// JoinPath joins a zod path with dots.
func JoinPath(path []any) string {
	parts := make([]string, len(path))
	for k, p := range path {
		parts[k] = fmt.Sprint(p)
	}
	return strings.Join(parts, ".")
}

// Missing reports whether the issue is a required input that is absent.
func (i Issue) Missing() bool { return i.Code == "invalid_type" && i.Received == "undefined" }

// MarshalJSON writes the issue as zod does, keys in zod's order.
func (i Issue) MarshalJSON() ([]byte, error) {
	var kv []any
	add := func(k string, v any) { kv = append(kv, k, v) }
	switch i.Code {
	case "invalid_type":
		add("code", i.Code)
		add("expected", i.Expected)
		add("received", i.Received)
	case "too_small", "too_big":
		add("code", i.Code)
		if i.Code == "too_small" {
			add("minimum", i.Bound)
		} else {
			add("maximum", i.Bound)
		}
		add("type", i.Type)
		add("inclusive", true)
		add("exact", i.Exact)
	case "invalid_string":
		add("validation", i.Validation)
		add("code", i.Code)
	case "invalid_enum_value":
		add("received", i.Value)
		add("code", i.Code)
		add("options", i.Options)
	default:
		add("code", i.Code)
	}
	path := i.Path
	if path == nil {
		path = []any{}
	}
	add("path", path)
	add("message", i.Message)
	var b bytes.Buffer
	b.WriteByte('{')
	for k := 0; k < len(kv); k += 2 {
		if k > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(kv[k])
		b.Write(key)
		b.WriteByte(':')
		val, err := marshalNoEscape(kv[k+1])
		if err != nil {
			return nil, err
		}
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// ZodMessage is the message of a failed parse as zod writes it: the issues as
// pretty-printed JSON. Inside a run it is the step's error.
func ZodMessage(issues []Issue) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(issues); err != nil {
		return err.Error()
	}
	return strings.TrimRight(b.String(), "\n")
}

// ParseZodMessage reads a step error that is zod's issue list; ok is false for any other
// text.
func ParseZodMessage(s string) (issues []Issue, ok bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") {
		return nil, false
	}
	var raw []struct {
		Code    string `json:"code"`
		Path    []any  `json:"path"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil || len(raw) == 0 {
		return nil, false
	}
	for _, r := range raw {
		if r.Message == "" {
			return nil, false
		}
		path := make([]any, len(r.Path))
		for k, p := range r.Path {
			if f, isNum := p.(float64); isNum {
				p = int(f)
			}
			path[k] = p
		}
		issues = append(issues, Issue{Code: r.Code, Path: path, Message: r.Message})
	}
	return issues, true
}

// Unknown stands for an input value known only at run time (supplied by input_map, or a
// param without a value): it counts as given and is not checked.
type Unknown struct{}

// Check returns what the server would refuse in the input of the named action, in the
// server's order and wording; nil when it accepts it (or the action is not in the
// catalog). A null value counts as absent; unknown keys are not issues (the server drops
// them).
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
		for _, g := range a.Groups {
			c.group(g, input)
		}
	}
	return out, c.issues
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

func present(m map[string]any, k string) bool {
	v, ok := m[k]
	return ok && v != nil
}

// fields checks the known keys of an object in the server's order.
func (c *checker) fields(fields []Input, obj map[string]any, path []any) (map[string]any, bool) {
	out := make(map[string]any, len(fields))
	aborted := false
	for i := range fields {
		f := &fields[i]
		v, ok := obj[f.Name]
		p := extend(path, f.Name)
		if !ok || v == nil {
			if f.Required {
				received := "undefined"
				msg := "Required"
				if ok {
					received = "null"
					msg = fmt.Sprintf("Expected %s, received null", zodType(f))
				}
				c.add(Issue{Code: "invalid_type", Path: p, Message: msg, Expected: zodType(f), Received: received})
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
	c.add(Issue{Code: "invalid_type", Path: path, Expected: exp, Received: got,
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

// value checks one present, non-null value. aborted is zod's "the value has the wrong
// type": the checks of the object around it (its groups) are then not run.
func (c *checker) value(in *Input, v any, path []any) (any, bool) {
	if _, later := v.(Unknown); later {
		return v, false
	}
	switch in.Kind {
	case Any:
		return v, false
	case String, UUID, URL, HTTPURL, Image:
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
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				c.add(Issue{Code: "invalid_string", Validation: "url", Path: path, Message: "Invalid url: expected http or https"})
			}
		case Image:
			if s != "" && !IsImageRef(s) {
				c.add(Issue{Code: "custom", Path: path, Message: "Expected an https URL, a data: URL or base64"})
			}
		}
		return s, false
	case Enum:
		s, ok := v.(string)
		if !ok {
			c.typeIssue(in, v, path)
			return v, true
		}
		for _, o := range in.Enum {
			if o == s {
				return s, false
			}
		}
		c.add(Issue{Code: "invalid_enum_value", Path: path, Options: in.Enum, Value: s,
			Message: fmt.Sprintf("Invalid enum value. Expected %s, received '%s'", enumList(in.Enum), s)})
		return s, true
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
		list, ok := v.([]any)
		if !ok {
			c.typeIssue(in, v, path)
			return v, true
		}
		c.length(in, len(list), "array", path)
		out := make([]any, len(list))
		aborted := false
		for k, item := range list {
			p := extend(path, k)
			if item == nil && in.Item.Kind != Any {
				c.typeIssue(in.Item, item, p)
				aborted = true
				continue
			}
			val, ab := c.value(in.Item, item, p)
			out[k] = val
			aborted = aborted || ab
		}
		return out, aborted
	case Object:
		obj, ok := v.(map[string]any)
		if !ok {
			c.typeIssue(in, v, path)
			return v, true
		}
		if in.Values != nil {
			out := make(map[string]any, len(obj))
			aborted := false
			for _, k := range slices.Sorted(maps.Keys(obj)) {
				p := extend(path, k)
				if obj[k] == nil && in.Values.Kind != Any {
					c.typeIssue(in.Values, nil, p)
					aborted = true
					continue
				}
				val, ab := c.value(in.Values, obj[k], p)
				out[k] = val
				aborted = aborted || ab
			}
			if !aborted && in.Max > 0 && len(obj) > in.Max {
				c.add(Issue{Code: "custom", Path: path, Message: fmt.Sprintf("Must have at most %d keys, got %d", in.Max, len(obj))})
			}
			return out, aborted
		}
		if in.Fields != nil {
			return c.fields(in.Fields, obj, path)
		}
		return obj, false
	}
	return v, false
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

// group checks an exactly-one-of or at-least-one-of rule. An empty list does not count
// as given (brands.extract's imagesBase64).
func (c *checker) group(g Group, obj map[string]any) {
	n := 0
	for _, k := range g.Inputs {
		if !present(obj, k) {
			continue
		}
		if l, isList := obj[k].([]any); isList && len(l) == 0 {
			continue
		}
		n++
	}
	if (g.Exactly && n == 1) || (!g.Exactly && n >= 1) {
		return
	}
	c.add(Issue{Code: "custom", Path: []any{g.Path}, Message: g.Message()})
}

// Message is the server's message for a broken group.
func (g Group) Message() string {
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

// patterns are compiled on first use: most pi processes check no input.
var patterns struct {
	once               sync.Once
	base64Re, schemeRe *regexp.Regexp
}

func compilePatterns() {
	patterns.base64Re = regexp.MustCompile(`^[A-Za-z0-9+/_\-\r\n]+={0,2}$`)
	patterns.schemeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]*:`)
}

func base64Re() *regexp.Regexp { patterns.once.Do(compilePatterns); return patterns.base64Re }
func schemeRe() *regexp.Regexp { patterns.once.Do(compilePatterns); return patterns.schemeRe }

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

// IsURL approximates `new URL(s)` (WHATWG): leading and trailing blanks and controls are
// ignored and tabs and newlines removed, then it needs a scheme, and a host (with a port
// of at most 65535) for the schemes that have one.
func IsURL(s string) bool {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	if !schemeRe().MatchString(s) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ftp", "ws", "wss":
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n > 65535 {
				return false
			}
		}
		return u.Hostname() != ""
	}
	return true
}

// IsImageRef reports whether s is what an image input takes: an https URL, a data: URL
// or raw base64.
func IsImageRef(s string) bool {
	switch {
	case strings.HasPrefix(s, "data:"):
		return strings.Contains(s, ",")
	case strings.HasPrefix(strings.ToLower(s), "https://"):
		u, err := url.Parse(s)
		return err == nil && u.Host != ""
	}
	return base64Re().MatchString(s)
}
