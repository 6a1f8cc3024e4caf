package sandbox

import (
	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/dag"
	"github.com/pi-cli/pi/internal/pipeline"
)

// parseRunBody checks a decoded body as the server's validator does (400
// invalid_request_body with param and issues) and keeps only the keys it knows (unknown
// keys dropped, ids and dependencies trimmed, defaults filled in).
func parseRunBody(obj map[string]any) (*pipeline.RunsRequest, *apiError) {
	clean, issues := catalog.ParseObject(runBodyFields(), obj)
	if len(issues) > 0 {
		return nil, invalidBody(issues)
	}
	body := &pipeline.RunsRequest{}
	if md, ok := clean["metadata"].(map[string]any); ok {
		body.Metadata = md
	}
	for _, raw := range clean["steps"].([]any) {
		m := raw.(map[string]any)
		st := pipeline.RunsStep{ID: m["id"].(string), Action: m["action"].(string), Input: map[string]any{}, DependsOn: []string{}}
		if in, ok := m["input"].(map[string]any); ok {
			st.Input = in
		}
		if deps, ok := m["depends_on"].([]any); ok {
			for _, d := range deps {
				st.DependsOn = append(st.DependsOn, d.(string))
			}
		}
		if im, ok := m["input_map"].(map[string]any); ok {
			st.InputMap = make(map[string]string, len(im))
			for k, v := range im {
				st.InputMap[k] = v.(string)
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
// "": duplicate ids first, then each step's dependencies in order, then cycles (named from
// the cycle's shortest id, as internal/dag names them).
func checkDAG(steps []pipeline.RunsStep) string {
	g := dag.New(len(steps), func(i int) string { return steps[i].ID }, func(i int) []string { return steps[i].DependsOn })
	for i, s := range steps {
		if g.Duplicate(i) {
			return "duplicate_step_id:" + s.ID
		}
	}
	for _, s := range steps {
		for _, d := range s.DependsOn {
			if d == s.ID {
				return "self_dependency:" + s.ID
			}
			if _, ok := g.Index(d); !ok {
				return "unknown_dependency:" + d
			}
		}
	}
	if cycles := g.Cycles(); len(cycles) > 0 {
		return "dependency_cycle:" + steps[cycles[0][0]].ID
	}
	return ""
}
