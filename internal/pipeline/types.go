// Package pipeline owns the pipeline file: its types, YAML decoding with positions,
// validation, params, input_map references and the JSON Schema.
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
type Pipeline struct {
	// Name is the file name it was parsed from ("" when built in code).
	Name     string
	Params   map[string]Param
	Steps    []Step
	Metadata map[string]any

	// Positions of the top-level keys' values (zero when absent or built in code).
	ParamsPos   Pos
	StepsPos    Pos
	MetadataPos Pos
	// StepsKeyPos locates the `steps:` key itself.
	StepsKeyPos Pos

	// paramUses are the `${params.NAME}` references found in step inputs, for validation.
	paramUses []paramUse
	// expanded lists the matrix steps Expand replaced by their expansions.
	expanded []MatrixSummary
	// stepsReported is set when decoding reported a problem with the steps list itself.
	stepsReported bool
}

// Param is a default value from the file's `params:` section.
type Param struct {
	Value any
	Pos   Pos
}

// Step is one step of a pipeline. The *Pos fields locate the key's value in the file.
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
	// values; Expand replaces it by those steps, each with its Origin (matrix.go).
	Matrix *Matrix
	Origin *Origin

	Pos       Pos // the step's mapping
	IDPos     Pos
	ActionPos Pos
	// DependsOnPos[i] locates DependsOn[i]; InputMapPos[k] locates the value of InputMap[k].
	DependsOnPos []Pos
	InputMapPos  map[string]Pos
	// InputPos locates the `input` mapping, InputKeyPos[k] the key k inside it and
	// InputMapKeyPos[k] the key k inside `input_map`. RetryPos, MaxAttemptsPos, BackoffPos
	// and TimeoutPos locate the extensions' values.
	InputPos    Pos
	InputKeyPos map[string]Pos
	// InputNamePos locates the `input:` key; InputValuePos[path] every value inside the
	// input by its dotted path ("output.aspect_ratio", "reference_images.1").
	InputNamePos    Pos
	InputValuePos   map[string]Pos
	InputMapKeyPos  map[string]Pos
	DependsOnKeyPos Pos
	RetryPos        Pos
	MaxAttemptsPos  Pos
	BackoffPos      Pos
	TimeoutPos      Pos

	// matrixUses are the `${matrix.NAME}` references of the input, with their positions.
	matrixUses []matrixUse

	// reported marks fields whose decoding already produced a diagnostic, so validation
	// does not report the same problem twice.
	reported fieldSet
}

// Retry is the local engine's retry policy for one step.
type Retry struct {
	MaxAttempts int           // 1..10
	Backoff     time.Duration // base of the exponential backoff
}

// StepIndex returns the index of the step with the given id, or -1.
func (p *Pipeline) StepIndex(id string) int {
	for i := range p.Steps {
		if p.Steps[i].ID == id {
			return i
		}
	}
	return -1
}
