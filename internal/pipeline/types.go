// Package pipeline owns the pipeline file: its types, YAML decoding with a side table of
// positions (Source), matrix expansion, params, validation, input_map references and the
// JSON Schema. Load is the one way in.
package pipeline

import "time"

// Pos is a 1-based line and column in the source file; the zero Pos means "unknown"
// (a pipeline built in code, or decoded from a JSON Runs API body).
type Pos struct {
	Line   int
	Column int
}

// Pipeline is a decoded pipeline file. Input values are plain Go values as yaml.v3 or
// encoding/json decode them (map[string]any, []any, string, int, float64, bool, nil).
// Where each value is written is not here but in the file's Source.
type Pipeline struct {
	// Name is the file name it was parsed from ("" when built in code).
	Name     string
	Params   map[string]Param
	Steps    []Step
	Metadata map[string]any

	// expanded lists the matrix steps expansion replaced by their expansions.
	expanded []MatrixSummary
	// checked is the graph Load's validation built of Steps (Graph).
	checked *checkedGraph
}

// Param is a default value from the file's `params:` section.
type Param struct {
	Value any
}

// Step is one step of a pipeline: data only, which the engine carries through a run.
// Steps may share their Input maps and the values in them (a file's equal inputs are
// decoded once, expansions share what a matrix value does not change): never modify them.
type Step struct {
	ID        string
	Action    string
	Input     map[string]any
	DependsOn []string
	InputMap  map[string]string
	// Retry and Timeout are client-side extensions, honoured by the local engine only.
	Retry   *Retry
	Timeout time.Duration
	// Matrix (an extension) makes the step a template for one step per combination of its
	// values; expansion replaces it by those steps, each with its Origin (expand.go).
	Matrix *Matrix
	Origin *Origin
	// Cache (an extension, honoured by pi wherever the step runs) says whether the step
	// may reuse a job from the step cache and record its own there; nil is the default:
	// yes for the Pi actions, no for the local ones.
	Cache *bool
}

// Retry is the local engine's retry policy for one step.
type Retry struct {
	MaxAttempts int           // 1..10
	Backoff     time.Duration // base of the exponential backoff
}
