package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Issue is one problem of an input, as the server's validator (zod v3) reports it.
type Issue struct {
	// Code is zod's: invalid_type, too_small, too_big, invalid_string, invalid_enum_value,
	// invalid_literal, invalid_union or custom.
	Code    string
	Path    []any // keys (string) and list indexes (int) from the top of the input
	Message string

	Expected, Received string // invalid_type; invalid_literal: Expected is the literal
	Bound              int    // too_small: minimum, too_big: maximum
	Type               string // too_small, too_big: "string", "array" or "object"
	Exact              bool   // too_small, too_big: the bound is an exact length
	Validation         string // invalid_string: "uuid" or "url"
	Options            []string
	Value              any       // invalid_enum_value, invalid_literal: the value received
	UnionErrors        [][]Issue // invalid_union: each alternative's issues
	Group              *Group    // custom: the exactly-one-of or at-least-one-of rule broken

	// byEnum: an invalid_type of z.enum, which writes its keys in another order.
	byEnum bool
}

// PathString is the dotted path the server puts in `param` ("output.aspect_ratio",
// "reference_images.1"); "" for the input itself, when the server sends no param.
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

// MarshalJSON writes the issue as zod does, keys in zod's order (zod v3 makeIssue spreads
// the issue data first, then path and message, keeping the order of keys already there).
func (i Issue) MarshalJSON() ([]byte, error) {
	path := i.Path
	if path == nil {
		path = []any{}
	}
	var kv []any
	switch i.Code {
	case "invalid_type":
		kv = []any{"code", i.Code, "expected", i.Expected, "received", i.Received, "path", path, "message", i.Message}
		if i.byEnum {
			kv = []any{"expected", i.Expected, "received", i.Received, "code", i.Code, "path", path, "message", i.Message}
		}
	case "too_small":
		kv = []any{"code", i.Code, "minimum", i.Bound, "type", i.Type, "inclusive", true, "exact", i.Exact, "message", i.Message, "path", path}
	case "too_big":
		kv = []any{"code", i.Code, "maximum", i.Bound, "type", i.Type, "inclusive", true, "exact", i.Exact, "message", i.Message, "path", path}
	case "invalid_string":
		kv = []any{"validation", i.Validation, "code", i.Code, "message", i.Message, "path", path}
	case "invalid_enum_value":
		kv = []any{"received", i.Value, "code", i.Code, "options", i.Options, "path", path, "message", i.Message}
	case "invalid_literal":
		kv = []any{"received", i.Value, "code", i.Code, "expected", i.Expected, "path", path, "message", i.Message}
	case "invalid_union":
		errs := make([]zodError, len(i.UnionErrors))
		for k, issues := range i.UnionErrors {
			errs[k] = zodError{Issues: issues, Name: "ZodError"}
		}
		kv = []any{"code", i.Code, "unionErrors", errs, "path", path, "message", i.Message}
	default:
		kv = []any{"code", i.Code, "message", i.Message, "path", path}
	}
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

// zodError is how a ZodError inside an invalid_union issue serializes.
type zodError struct {
	Issues []Issue `json:"issues"`
	Name   string  `json:"name"`
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
