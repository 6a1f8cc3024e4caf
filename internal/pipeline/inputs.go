package pipeline

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// inputKind is what the server accepts for one input of a Pi action (PI-API.md, "Actions
// as their own endpoints"). The server checks these only when the step's job is created,
// in the middle of a run; pi checks literal values before anything is sent.
type inputKind struct {
	kind     string // "string", "uuid", "url", "strings", "object"
	min, max int    // string length in characters, or list length (max 0: no limit)
}

var (
	prompt   = inputKind{kind: "string", min: 1, max: 5000}
	nonEmpty = inputKind{kind: "string", min: 1}
	uuidKind = inputKind{kind: "uuid"}
	urlKind  = inputKind{kind: "url"}
	object   = inputKind{kind: "object"}
)

func adInputs(maxRefs int) map[string]inputKind {
	return map[string]inputKind{
		"reference_images":    {kind: "strings", max: maxRefs},
		"brand_id":            uuidKind,
		"output":              object,
		"client_reference_id": nonEmpty,
		"metadata":            object,
	}
}

func with(base map[string]inputKind, more map[string]inputKind) map[string]inputKind {
	for k, v := range more {
		base[k] = v
	}
	return base
}

// inputKinds lists the checked inputs of each Pi action; inputs not listed (such as
// brand_identity_json) take any value. Local actions are checked by their executors.
var inputKinds = map[string]map[string]inputKind{
	"brands.extract": {
		"url":          urlKind,
		"logoBase64":   nonEmpty,
		"imagesBase64": {kind: "strings", min: 1},
		"location":     object,
	},
	"campaigns.generate": with(adInputs(6), map[string]inputKind{"prompt": prompt}),
	"campaigns.edit":     with(adInputs(6), map[string]inputKind{"source_job_id": uuidKind, "prompt": prompt}),
	"campaigns.localize_ad": with(adInputs(5), map[string]inputKind{
		"prompt":           prompt,
		"target_culture":   {kind: "string", min: 1, max: 200},
		"target_language":  nonEmpty,
		"target_currency":  nonEmpty,
		"source_job_id":    uuidKind,
		"source_image_url": urlKind,
	}),
}

var uuidPattern = lazyRegexp(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// check returns what is wrong with v for kind k, or "".
func (k inputKind) check(v any) string {
	switch k.kind {
	case "string", "uuid", "url":
		s, ok := v.(string)
		if !ok {
			return "expected a string, got " + jsonType(v)
		}
		switch k.kind {
		case "uuid":
			if !uuidPattern().MatchString(s) {
				return fmt.Sprintf("expected a uuid, got %q", truncate(s, 40))
			}
		case "url":
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Sprintf("expected an http or https URL, got %q", truncate(s, 40))
			}
		default:
			n := utf8.RuneCountInString(s)
			if n < k.min {
				return "must not be empty"
			}
			if k.max > 0 && n > k.max {
				return fmt.Sprintf("at most %d characters, got %d", k.max, n)
			}
		}
	case "strings":
		list, ok := v.([]any)
		if !ok {
			return "expected a list of strings, got " + jsonType(v)
		}
		if len(list) < k.min {
			return fmt.Sprintf("expected at least %d item", k.min)
		}
		if k.max > 0 && len(list) > k.max {
			return fmt.Sprintf("at most %d items, got %d", k.max, len(list))
		}
		for i, item := range list {
			if s, ok := item.(string); !ok || s == "" {
				return fmt.Sprintf("item %d: expected a non-empty string", i+1)
			}
		}
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return "expected a mapping, got " + jsonType(v)
		}
	}
	return ""
}

func jsonType(v any) string {
	switch t := v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, uint64, float64:
		return fmt.Sprintf("the number %v", t)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// checkInputValues reports input values the server would refuse when it creates the step's
// job. Params are substituted first (defaults and -p values); a key that input_map supplies
// is not checked, since the mapped value replaces it.
func (v *validator) checkInputValues(s *Step, values map[string]any) {
	kinds := inputKinds[s.Action]
	if kinds == nil || len(s.Input) == 0 {
		return
	}
	for _, k := range sortedKeys(s.Input) {
		kind, ok := kinds[k]
		if !ok {
			continue
		}
		if _, mapped := s.InputMap[k]; mapped {
			continue
		}
		val := s.Input[k]
		from := ""
		if str, isStr := val.(string); isStr && strings.Contains(str, "${params.") {
			from = fmt.Sprintf(" (from %q)", str)
			var missing []string
			val = substitute(str, values, &missing)
			if len(missing) > 0 {
				continue // reported as an undefined param
			}
		}
		if val == nil {
			continue // null counts as absent
		}
		if problem := kind.check(val); problem != "" {
			v.errorf(firstPos(s.InputKeyPos[k], s.InputPos, s.Pos), "input.%s of %s: %s%s", k, s.Action, problem, from)
		}
	}
}
