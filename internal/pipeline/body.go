package pipeline

import (
	"encoding/json"
	"fmt"
)

// runsBody is the POST /api/v1/runs body, in the server's field order.
type runsBody struct {
	Steps    []runsStep     `json:"steps"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

type runsStep struct {
	ID        string            `json:"id"`
	Action    string            `json:"action"`
	Input     map[string]any    `json:"input"`
	DependsOn []string          `json:"depends_on"`
	InputMap  map[string]string `json:"input_map,omitempty"`
}

// RunsBody returns the exact Runs API body for the pipeline: steps (id, action, input,
// depends_on, input_map) and metadata, with the client-side extensions (params, retry,
// timeout) left out. Call WithParams first: references still in the input are sent as
// written.
func (p *Pipeline) RunsBody() ([]byte, error) {
	body := runsBody{Steps: make([]runsStep, len(p.Steps)), Metadata: p.Metadata}
	for i, s := range p.Steps {
		rs := runsStep{ID: s.ID, Action: s.Action, Input: s.Input, DependsOn: s.DependsOn, InputMap: s.InputMap}
		if rs.Input == nil {
			rs.Input = map[string]any{}
		}
		if rs.DependsOn == nil {
			rs.DependsOn = []string{}
		}
		body.Steps[i] = rs
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode runs body of %q: %w", p.Name, err)
	}
	return b, nil
}

// HasExtensions reports whether the file uses what the Runs API does not know (params,
// retry or timeout), so `pi run` can say once that they were stripped.
func (p *Pipeline) HasExtensions() bool {
	if len(p.Params) > 0 {
		return true
	}
	for _, s := range p.Steps {
		if s.Retry != nil || s.Timeout != 0 {
			return true
		}
	}
	return false
}

// Check loads the file at path and validates it for mode with the -p overrides: the one
// call `pi run` and `pi validate` need. The error is only for I/O; the pipeline is nil when
// the file could not be decoded at all.
func Check(path string, mode Mode, overrides map[string]string) (*Pipeline, Diagnostics, error) {
	p, ds, err := Load(path)
	if err != nil || p == nil {
		return p, ds, err
	}
	ds = append(ds, p.Validate(mode, overrides)...)
	ds.Sort()
	return p, ds, nil
}
