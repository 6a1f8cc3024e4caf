package pipeline

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/pi-cli/pi/internal/catalog"
)

// SchemaID is the schema's $id, where a release publishes it.
const SchemaID = "https://raw.githubusercontent.com/pi-cli/pi/main/pi-pipeline.schema.json"

// durationPattern accepts Go durations as time.ParseDuration does ("500ms", "2s", "1h30m").
const durationPattern = `^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`

var schema struct {
	once sync.Once
	json []byte
}

// Schema returns the JSON Schema (draft 2020-12) of the pipeline file, with descriptions
// for editors (`# yaml-language-server: $schema=...`). It is built from the action catalog
// so the two cannot drift. The schema checks form (keys, types, the action names, the
// input_map grammar, ranges); the graph, required inputs and params are checked by
// `pi validate`.
func Schema() []byte {
	schema.once.Do(func() { schema.json = buildSchema() })
	return schema.json
}

type obj = map[string]any

func buildSchema() []byte {
	s := obj{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         SchemaID,
		"title":       "Pi pipeline",
		"description": "A Pi pipeline: the Runs API body (steps, metadata) in YAML, plus the pi CLI's extensions (params, retry, timeout). Check a file with `pi validate FILE`.",
		"type":        "object",
		"required":    []string{"steps"},
		"properties": obj{
			"params": obj{
				"description":   "Extension: param defaults. Use them as ${params.NAME} in any string of a step's input; override with `pi run -p NAME=VALUE`. A string that is only a reference takes the value with its type.",
				"type":          []string{"object", "null"},
				"propertyNames": obj{"pattern": `^[A-Za-z_][A-Za-z0-9_-]*$`},
			},
			"steps": obj{
				"description": "The steps, in any order: each starts when the steps in its depends_on completed. The Runs API takes 1 to 10; the local engine (--local) has no limit.",
				"type":        "array",
				"minItems":    1,
				"items":       obj{"$ref": "#/$defs/step"},
			},
			"metadata": obj{
				"description": "Arbitrary data recorded with the run (pipeline name, a user reference).",
				"type":        []string{"object", "null"},
			},
		},
		"patternProperties": obj{
			"^x-": obj{"description": "Free space for YAML anchors (x-defaults: &defaults ...); ignored by pi and never sent."},
		},
		"additionalProperties": false,
		"$defs": obj{
			"step": stepSchema(),
			"duration": obj{
				"description": "A duration such as 500ms, 30s, 10m or 1h30m.",
				"type":        "string",
				"pattern":     durationPattern,
			},
		},
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic("pipeline: encode schema: " + err.Error()) // static data: cannot happen
	}
	return append(b, '\n')
}

// stepSchema is the schema of one step, with each action's inputs.
func stepSchema() obj {
	var actions []any
	for _, a := range catalog.All() {
		desc := a.Description + " (runs: " + a.Runs() + "). Inputs: " + describeInputs(a) + ". Result: " + strings.Join(a.ResultNames(), ", ") + "."
		actions = append(actions, obj{"const": a.Name, "description": desc})
	}
	return obj{
		"type":                 "object",
		"description":          "One step: an action with its input, run when its dependencies completed.",
		"required":             []string{"id", "action"},
		"additionalProperties": false,
		"properties": obj{
			"id": obj{
				"description": "Unique step id, 1 to 64 characters; other steps name it in depends_on and input_map.",
				"type":        "string", "minLength": 1, "maxLength": MaxIDLength, "pattern": `\S`,
			},
			"action": obj{
				"description": "What the step does; see `pi actions`. shell.run and http.request run only with --local.",
				"type":        "string",
				"anyOf":       actions,
			},
			"input": obj{
				"description": "The action's input. Strings may use ${params.NAME}. Keys in input_map overwrite keys here.",
				"type":        "object",
			},
			"depends_on": obj{
				"description": "Ids of the steps that must complete before this one starts.",
				"type":        "array",
				"items":       obj{"type": "string"},
				"uniqueItems": true,
			},
			"input_map": obj{
				"description": "Inputs taken from earlier steps' results: $steps.<id>.result (the whole result) or $steps.<id>.result.<field>[.<field>...]. The step must be in depends_on (directly or through another step).",
				"type":        "object",
				"additionalProperties": obj{
					"type":    "string",
					"pattern": StepRefPattern,
				},
			},
			"retry": obj{
				"description":          "Extension, local engine only: retry transient failures.",
				"type":                 "object",
				"additionalProperties": false,
				"properties": obj{
					"max_attempts": obj{"description": "Attempts in all, 1 to 10 (default 3).", "type": "integer", "minimum": 1, "maximum": MaxAttempts},
					"backoff":      obj{"$ref": "#/$defs/duration", "description": "Base of the exponential backoff between attempts (default 1s)."},
				},
			},
			"timeout": obj{"$ref": "#/$defs/duration", "description": "Extension, local engine only: the longest one attempt of the step may take."},
			"matrix":  matrixSchema(),
			"cache":   obj{"type": "boolean", "description": "Extension: whether the step may reuse a job paid for earlier from pi's step cache, and record its own (default: true for the Pi actions, false for shell.run and http.request)."},
		},
		"allOf": perActionInputs(),
	}
}

// perActionInputs gives, per action, the input keys with descriptions, so editors complete
// them inside `input:`. No types and no required keys here: a value may be a
// ${params.NAME} string and input_map may supply a key; `pi validate` checks both.
func perActionInputs() []any {
	var out []any
	for _, a := range catalog.All() {
		props := obj{}
		for i := range a.Inputs {
			props[a.Inputs[i].Name] = inputSchema(a, &a.Inputs[i])
		}
		out = append(out, obj{
			"if":   obj{"properties": obj{"action": obj{"const": a.Name}}, "required": []string{"action"}},
			"then": obj{"properties": obj{"input": obj{"properties": props}}},
		})
	}
	return out
}

func describeInputs(a *catalog.Action) string {
	var parts []string
	if req := a.Required(); len(req) > 0 {
		parts = append(parts, "required "+strings.Join(req, ", "))
	}
	for _, g := range a.Groups {
		if g.Exactly {
			parts = append(parts, "exactly one of "+strings.Join(g.Inputs, ", "))
		} else {
			parts = append(parts, "at least one of "+strings.Join(g.Inputs, ", "))
		}
	}
	if opt := a.Optional(); len(opt) > 0 {
		parts = append(parts, "optional "+strings.Join(opt, ", "))
	}
	return strings.Join(parts, "; ")
}

// inputSchema is an input's entry: its description (with its rules), and the same for
// the fields of a nested object.
func inputSchema(a *catalog.Action, in *catalog.Input) obj {
	s := obj{"description": InputDescription(a, in)}
	if len(in.Fields) > 0 {
		props := obj{}
		for i := range in.Fields {
			f := &in.Fields[i]
			fs := obj{"description": f.Description + ": " + catalog.Rules(f) + "."}
			if f.Kind == catalog.Enum {
				// The values, for completion; a ${params.X} or ${matrix.X} is checked by pi validate.
				fs["anyOf"] = []any{obj{"enum": f.Enum}, obj{"type": "string", "pattern": `\$\{(params|matrix)\.`}}
			}
			props[f.Name] = fs
		}
		s["properties"] = props
	}
	return s
}

// InputDescription says whether the action needs the input, what it is and its rules.
func InputDescription(a *catalog.Action, in *catalog.Input) string {
	d := in.Description + ": " + catalog.Rules(in) + "."
	switch g, grouped := a.InGroup(in.Name); {
	case in.Required:
		return "Required. " + d
	case grouped && g.Exactly:
		return "Exactly one of " + strings.Join(g.Inputs, ", ") + ". " + d
	case grouped:
		return "At least one of " + strings.Join(g.Inputs, ", ") + ". " + d
	}
	return "Optional. " + d
}
