package pipeline

// Code names the kind of a diagnostic, for tools (`pi validate -o json`) and for merging
// what the expansions of a matrix step share: its text may change, its code does not.
type Code string

// The codes of reading the file.
const (
	CodeYAML            Code = "yaml-syntax"       // the text is not YAML
	CodeDocuments       Code = "second-document"   // more than one YAML document
	CodeEmpty           Code = "empty-file"        // nothing in the file
	CodeType            Code = "wrong-type"        // a value of the wrong type (a list for a mapping, ...)
	CodeUnknownKey      Code = "unknown-key"       // a key the server would drop silently
	CodeKey             Code = "bad-key"           // a key that is not a plain string
	CodeDuplicateKey    Code = "duplicate-key"     // a key written twice in one mapping
	CodeMergeKey        Code = "bad-merge-key"     // << with what is not a mapping
	CodeTooBig          Code = "too-many-values"   // aliases or nesting beyond pi's limits
	CodeValue           Code = "bad-value"         // a scalar yaml.v3 cannot read
	CodeMalformedRef    Code = "malformed-ref"     // ${params...} or ${matrix...} written wrong
	CodeName            Code = "bad-name"          // a param or matrix key name
	CodeBlanks          Code = "blanks"            // an id with blanks the server trims
	CodeMissingID       Code = "missing-id"        // a step without id
	CodeMissingAction   Code = "missing-action"    // a step without action
	CodeChunk           Code = "chunk"             // a piece of a big file that does not read alone
	CodeNotRecorded     Code = "not-recorded"      // the count of problems past what is recorded
	CodeMatrixEmpty     Code = "matrix-empty"      // a matrix, or one of its lists, without values
	CodeMatrixItem      Code = "matrix-item"       // a matrix value that cannot be one
	CodeMatrixTooBig    Code = "matrix-too-big"    // more expansions than pi makes
	CodeMatrixParam     Code = "matrix-param"      // a matrix from a param that is not a list of values
	CodeMatrixSelfRef   Code = "matrix-self-ref"   // a matrix value that uses ${matrix...}
	CodeMatrixDup       Code = "matrix-duplicate"  // a value listed twice
	CodeMatrixRef       Code = "matrix-ref"        // ${matrix.X} without a matrix, or an unknown X
	CodeMatrixField     Code = "matrix-field"      // ${matrix.X.f} where the value has no f
	CodeMatrixUnused    Code = "matrix-unused"     // a matrix key nothing uses
	CodeMatrixUnpaired  Code = "matrix-unpaired"   // input_map from a matrix step that does not pair
	CodeExpansionTooBig Code = "expansion-too-big" // params and matrices make more than MaxExpandedBytes
)

// The codes of validation.
const (
	CodeNoSteps Code = "no-steps"
	// CodeUncuttable: steps that must share one server run (a whole result mapped, and the
	// steps between) are more than it takes; pi validate and pi run find it (internal/waves).
	CodeUncuttable     Code = "waves-too-big"
	CodeEmptyID        Code = "empty-id"
	CodeLongID         Code = "id-too-long"
	CodeControlID      Code = "id-control"
	CodeWorkflowID     Code = "id-workflow-command"
	CodeDuplicateID    Code = "duplicate-id"
	CodeDuplicateDep   Code = "duplicate-dependency"
	CodeSelfDep        Code = "self-dependency"
	CodeUnknownStep    Code = "unknown-step"
	CodeCycle          Code = "cycle"
	CodeEmptyAction    Code = "empty-action"
	CodeUnknownAction  Code = "unknown-action"
	CodeLocalAction    Code = "local-action"
	CodeInput          Code = "invalid-input" // an input value the action refuses (catalog.Check)
	CodeMissingInput   Code = "missing-input" // a required input, or one of a group, not given
	CodeOneOf          Code = "one-of"        // several inputs of an exactly-one-of group
	CodeUnknownInput   Code = "unknown-input" // an input or field the action does not have
	CodeRefGrammar     Code = "ref-grammar"   // an input_map value that is not $steps.<id>.result...
	CodeRefSelf        Code = "ref-self"      // input_map from the step itself
	CodeRefNotAncestor Code = "ref-not-ancestor"
	CodeRefField       Code = "ref-field"        // a result field the source action does not have
	CodeRefKind        Code = "ref-kind"         // a result of the wrong kind for the input
	CodeRefSource      Code = "ref-source"       // a source_job_id of a job type the action refuses
	CodeRefInInput     Code = "ref-in-input"     // a $steps reference written in input, where nothing resolves it
	CodeNestedInputMap Code = "nested-input-map" // input_map written under input
	CodeImage          Code = "image-misread"    // an image reference the server will misread or fail on
	CodeRetry          Code = "retry"
	CodeTimeout        Code = "timeout"
	CodeParamUnknown   Code = "param-unknown"   // -p of a param the file does not define
	CodeParamOverride  Code = "param-override"  // -p value of the wrong type
	CodeParamUndefined Code = "param-undefined" // ${params.X} without X
	CodeParamUnused    Code = "param-unused"
)

// InStep reports whether a problem of this kind is in what one step asks of its action
// (an input value or key, an action pi does not know, a result field of the wrong kind,
// retry or timeout) and leaves the pipeline's structure (its steps, ids, depends_on,
// input_map references, matrices, params) as the file means it: pi graph can still draw
// the pipeline. Every other code, and any code added later, counts as structural.
func (c Code) InStep() bool {
	switch c {
	case CodeInput, CodeMissingInput, CodeOneOf, CodeUnknownInput, CodeRefField, CodeRefKind,
		CodeRefSource, CodeImage, CodeRetry, CodeTimeout, CodeEmptyAction, CodeUnknownAction,
		CodeLocalAction:
		return true
	}
	return false
}
