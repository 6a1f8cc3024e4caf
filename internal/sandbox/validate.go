package sandbox

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/pipeline"
)

// serverActions are the actions the Runs API accepts, in the order its messages list them.
func serverActions() []string {
	var out []string
	for _, a := range catalog.Server() {
		out = append(out, a.Name)
	}
	return out
}

func isServerAction(name string) bool {
	a, ok := catalog.Lookup(name)
	return ok && !a.Local
}

// parseRunBody checks a decoded body as the server's validator does and keeps only the
// keys it knows (unknown keys dropped, defaults filled in).
func parseRunBody(obj map[string]any) (*pipeline.RunsRequest, *apiError) {
	invalid := func(format string, a ...any) (*pipeline.RunsRequest, *apiError) {
		return nil, badRequest("invalid_request_body", "Invalid request body: "+format+".", a...)
	}
	rawSteps, ok := obj["steps"].([]any)
	if !ok {
		return invalid("steps: expected an array of 1 to 10 steps")
	}
	if len(rawSteps) < 1 || len(rawSteps) > 10 {
		return invalid("steps: expected 1 to 10 steps, got %d", len(rawSteps))
	}
	body := &pipeline.RunsRequest{}
	if md, present := obj["metadata"]; present && md != nil {
		m, ok := md.(map[string]any)
		if !ok {
			return invalid("metadata: expected an object")
		}
		body.Metadata = m
	}
	for i, rs := range rawSteps {
		m, ok := rs.(map[string]any)
		if !ok {
			return invalid("steps[%d]: expected an object", i)
		}
		id, ok := m["id"].(string)
		id = strings.TrimSpace(id)
		if !ok || id == "" || utf8.RuneCountInString(id) > 64 {
			return invalid("steps[%d].id: expected a string of 1 to 64 characters", i)
		}
		action, _ := m["action"].(string)
		if !isServerAction(action) {
			return invalid("steps[%d].action: expected one of %s", i, strings.Join(serverActions(), ", "))
		}
		st := pipeline.RunsStep{ID: id, Action: action, Input: map[string]any{}, DependsOn: []string{}}
		if in, present := m["input"]; present {
			obj, ok := in.(map[string]any)
			if !ok {
				return invalid("steps[%d].input: expected an object", i)
			}
			st.Input = obj
		}
		if deps, present := m["depends_on"]; present {
			list, ok := deps.([]any)
			if !ok {
				return invalid("steps[%d].depends_on: expected an array of step ids", i)
			}
			for j, d := range list {
				s, ok := d.(string)
				if !ok {
					return invalid("steps[%d].depends_on[%d]: expected a string", i, j)
				}
				st.DependsOn = append(st.DependsOn, s)
			}
		}
		if im, present := m["input_map"]; present {
			obj, ok := im.(map[string]any)
			if !ok {
				return invalid("steps[%d].input_map: expected an object of strings", i)
			}
			st.InputMap = map[string]string{}
			for k, v := range obj {
				s, ok := v.(string)
				if !ok {
					return invalid("steps[%d].input_map.%s: expected a string", i, k)
				}
				st.InputMap[k] = s
			}
		}
		body.Steps = append(body.Steps, st)
	}
	if reason := checkDAG(body.Steps); reason != "" {
		return nil, badRequest("invalid_run_dag", "%s", reason)
	}
	return body, nil
}

// checkDAG returns the server's `<reason>:<step id>` for the first problem of the graph, or
// "": duplicate ids first, then each step's dependencies in order, then cycles.
func checkDAG(steps []pipeline.RunsStep) string {
	index := map[string]int{}
	for i, s := range steps {
		if _, dup := index[s.ID]; dup {
			return "duplicate_step_id:" + s.ID
		}
		index[s.ID] = i
	}
	for _, s := range steps {
		for _, d := range s.DependsOn {
			if d == s.ID {
				return "self_dependency:" + s.ID
			}
			if _, ok := index[d]; !ok {
				return "unknown_dependency:" + d
			}
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(steps))
	var cycleAt string
	var visit func(i int) bool
	visit = func(i int) bool {
		color[i] = grey
		for _, d := range steps[i].DependsOn {
			j := index[d]
			switch color[j] {
			case grey:
				cycleAt = steps[j].ID
				return true
			case white:
				if visit(j) {
					return true
				}
			}
		}
		color[i] = black
		return false
	}
	for i := range steps {
		if color[i] == white && visit(i) {
			return "dependency_cycle:" + cycleAt
		}
	}
	return ""
}

// checkInput validates an action's input as the server does on the action's endpoint and
// returns what is wrong, or "". Unknown keys are not errors (the server drops them); a null
// value counts as absent. lookupJob tells the type of an existing job ("" when unknown).
func checkInput(action string, in map[string]any, lookupJob func(id string) string) string {
	has := func(k string) bool { v, ok := in[k]; return ok && v != nil }
	str := func(k string, minLen, maxLen int) string {
		if !has(k) {
			return ""
		}
		s, ok := in[k].(string)
		if !ok {
			return k + ": expected a string"
		}
		n := utf8.RuneCountInString(s)
		if n < minLen || (maxLen > 0 && n > maxLen) {
			if maxLen > 0 {
				return fmt.Sprintf("%s: expected %d to %d characters, got %d", k, minLen, maxLen, n)
			}
			return k + ": must not be empty"
		}
		return ""
	}
	uuidField := func(k string) string {
		if !has(k) {
			return ""
		}
		if s, ok := in[k].(string); !ok || !isUUID(s) {
			return k + ": expected a uuid"
		}
		return ""
	}
	urlField := func(k string) string {
		if !has(k) {
			return ""
		}
		s, ok := in[k].(string)
		if !ok {
			return k + ": expected a URL string"
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return k + ": expected an http or https URL"
		}
		return ""
	}
	strList := func(k string, maxItems int) string {
		if !has(k) {
			return ""
		}
		list, ok := in[k].([]any)
		if !ok {
			return k + ": expected an array of strings"
		}
		if maxItems > 0 && len(list) > maxItems {
			return fmt.Sprintf("%s: at most %d items, got %d", k, maxItems, len(list))
		}
		for i, v := range list {
			if s, ok := v.(string); !ok || s == "" {
				return fmt.Sprintf("%s[%d]: expected a non-empty string", k, i)
			}
		}
		return ""
	}
	object := func(k string) string {
		if !has(k) {
			return ""
		}
		if _, ok := in[k].(map[string]any); !ok {
			return k + ": expected an object"
		}
		return ""
	}
	required := func(k string) string {
		if !has(k) {
			return k + ": required"
		}
		return ""
	}
	sourceJob := func() string {
		if !has("source_job_id") {
			return ""
		}
		id, _ := in["source_job_id"].(string)
		switch lookupJob(id) {
		case "campaign_ad_generation", "campaign_ad_edit", "campaign_ad_localization":
			return ""
		case "":
			return "source_job_id: no such job"
		default:
			return "source_job_id: not a campaign ad job"
		}
	}
	adOptional := func(maxRefs int) []string {
		return []string{strList("reference_images", maxRefs), uuidField("brand_id"),
			object("output"), str("client_reference_id", 1, 0), object("metadata")}
	}

	var checks []string
	switch action {
	case "brands.extract":
		if !has("url") && !has("logoBase64") && !has("imagesBase64") {
			return "one of url, logoBase64, imagesBase64 is required"
		}
		checks = []string{urlField("url"), str("logoBase64", 1, 0), strList("imagesBase64", 0), object("location")}
		if has("imagesBase64") {
			if l, _ := in["imagesBase64"].([]any); len(l) == 0 && checks[2] == "" {
				checks = append(checks, "imagesBase64: expected at least one image")
			}
		}
		if loc, ok := in["location"].(map[string]any); ok {
			if c, present := loc["country"]; present && c != nil {
				if _, ok := c.(string); !ok {
					checks = append(checks, "location.country: expected a string")
				}
			}
			if l, present := loc["languages"]; present && l != nil {
				checks = append(checks, checkStrings("location.languages", l))
			}
		}
	case "campaigns.generate":
		checks = append([]string{required("prompt"), str("prompt", 1, 5000)}, adOptional(6)...)
	case "campaigns.edit":
		checks = append([]string{required("source_job_id"), uuidField("source_job_id"), str("prompt", 1, 5000)}, adOptional(6)...)
		if joinChecks(checks) == "" {
			checks = append(checks, sourceJob())
		}
	case "campaigns.localize_ad":
		checks = []string{required("prompt"), str("prompt", 1, 5000), required("target_culture"),
			str("target_culture", 1, 200), str("target_language", 1, 0), str("target_currency", 1, 0)}
		switch {
		case has("source_job_id") && has("source_image_url"):
			checks = append(checks, "exactly one of source_job_id, source_image_url is allowed, got both")
		case !has("source_job_id") && !has("source_image_url"):
			checks = append(checks, "one of source_job_id, source_image_url is required")
		}
		checks = append(checks, uuidField("source_job_id"), urlField("source_image_url"))
		checks = append(checks, adOptional(5)...)
		if joinChecks(checks) == "" {
			checks = append(checks, sourceJob())
		}
	default:
		return fmt.Sprintf("unknown action %q", action)
	}
	return joinChecks(checks)
}

func checkStrings(k string, v any) string {
	list, ok := v.([]any)
	if !ok {
		return k + ": expected an array of strings"
	}
	for i, v := range list {
		if _, ok := v.(string); !ok {
			return fmt.Sprintf("%s[%d]: expected a string", k, i)
		}
	}
	return ""
}

// joinChecks joins the problems found, in the order they were checked.
func joinChecks(checks []string) string {
	var out []string
	for _, c := range checks {
		if c != "" {
			out = append(out, c)
		}
	}
	return strings.Join(out, "; ")
}
