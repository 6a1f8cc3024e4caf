package pipeline

import (
	"encoding/json"
	"fmt"
)

// RunsRequest is the POST /api/v1/runs body, in the server's field order: what pi sends, and
// what the simulated server keeps of a body it accepted.
type RunsRequest struct {
	Steps    []RunsStep     `json:"steps"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// RunsStep is one step of a RunsRequest.
type RunsStep struct {
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
	body := RunsRequest{Steps: make([]RunsStep, len(p.Steps)), Metadata: p.Metadata}
	for i, s := range p.Steps {
		if s.Matrix != nil {
			// The server knows no matrix: sending the template would run one wrong step.
			return nil, fmt.Errorf("encode runs body of %q: step %q is a matrix step: expand the pipeline (WithParams) first", p.Name, s.ID)
		}
		rs := RunsStep{ID: s.ID, Action: s.Action, Input: s.Input, DependsOn: s.DependsOn, InputMap: s.InputMap}
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

// Pipeline is the body as a pipeline the engine can run: a server body has no params and no
// client-side extensions. The steps' depends_on lists are copies.
func (b *RunsRequest) Pipeline() *Pipeline {
	p := &Pipeline{Metadata: b.Metadata}
	for _, s := range b.Steps {
		p.Steps = append(p.Steps, Step{
			ID: s.ID, Action: s.Action, Input: s.Input,
			DependsOn: append([]string(nil), s.DependsOn...), InputMap: s.InputMap,
		})
	}
	return p
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
