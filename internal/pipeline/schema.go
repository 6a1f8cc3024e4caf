package pipeline

import (
	"encoding/json"
	"strings"
	"sync"
)

// SchemaID is the schema's $id, where a release publishes it.
const SchemaID = "https://raw.githubusercontent.com/pi-cli/pi/main/pi-pipeline.schema.json"

// durationPattern accepts Go durations as time.ParseDuration does ("500ms", "2s", "1h30m").
const durationPattern = `^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`

var schemaOnce = sync.OnceValue(buildSchema)

// Schema returns the JSON Schema (draft 2020-12) of the pipeline file, with descriptions
// for editors (`# yaml-language-server: $schema=...`). It is built from the action catalog
// so the two cannot drift. The schema checks form (keys, types, the action names, the
// input_map grammar, ranges); the graph, required inputs and params are checked by
// `pi validate`.
func Schema() []byte { return schemaOnce() }

type obj = map[string]any

func buildSchema() []byte {
	var actions []any
	for _, a := range Actions() {
		desc := a.Description + " (runs: " + a.Runs() + "). Inputs: " + describeInputs(&a) + ". Result: " + strings.Join(a.ResultFields, ", ") + "."
		actions = append(actions, obj{"const": a.Name, "description": desc})
	}
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
			"step": obj{
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
							"pattern": refPattern().String(),
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
				},
			},
			"duration": obj{
				"description": "A duration such as 500ms, 30s, 10m or 1h30m.",
				"type":        "string",
				"pattern":     durationPattern,
			},
		},
	}
	// Per action, the input keys with descriptions, so editors complete them inside
	// `input:`. No types and no required keys here: a value may be a ${params.NAME} string
	// and input_map may supply a key; `pi validate` checks both.
	var perAction []any
	for _, a := range Actions() {
		props := obj{}
		for _, k := range a.inputNames() {
			props[k] = obj{"description": inputDescription(&a, k)}
		}
		perAction = append(perAction, obj{
			"if":   obj{"properties": obj{"action": obj{"const": a.Name}}, "required": []string{"action"}},
			"then": obj{"properties": obj{"input": obj{"properties": props}}},
		})
	}
	s["$defs"].(obj)["step"].(obj)["allOf"] = perAction

	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic("pipeline: encode schema: " + err.Error()) // static data: cannot happen
	}
	return append(b, '\n')
}

func describeInputs(a *ActionSpec) string {
	var parts []string
	if len(a.Required) > 0 {
		parts = append(parts, "required "+strings.Join(a.Required, ", "))
	}
	for _, g := range a.OneOf {
		if a.AtLeastOne {
			parts = append(parts, "at least one of "+strings.Join(g, ", "))
		} else {
			parts = append(parts, "exactly one of "+strings.Join(g, ", "))
		}
	}
	if len(a.Optional) > 0 {
		parts = append(parts, "optional "+strings.Join(a.Optional, ", "))
	}
	return strings.Join(parts, "; ")
}

// inputDescriptions say what an input is (PI-API.md); inputDescription adds whether the
// action requires it.
var inputDescriptions = map[string]string{
	"url":                 "Website URL (http or https).",
	"logoBase64":          "The logo image, base64-encoded.",
	"imagesBase64":        "Images of the brand, base64-encoded (a list).",
	"location":            "Market of the brand: {country, languages: [...]}.",
	"prompt":              "What to create or change, 1 to 5000 characters.",
	"reference_images":    "Image URLs to take inspiration from (at most 6; 5 for localize_ad).",
	"brand_id":            "Uuid of an extracted brand, usually $steps.<extract>.result.brand_id in input_map.",
	"brand_identity_json": "A brand identity written inline (name, colours, fonts, tone...), instead of brand_id.",
	"output":              "Output settings: {aspect_ratio, resolution, thinking_intensity}.",
	"client_reference_id": "Your own reference, returned with the job.",
	"metadata":            "Arbitrary data stored with the job.",
	"source_job_id":       "Uuid of a generate or edit job, usually $steps.<step>.result.job_id in input_map.",
	"source_image_url":    "URL of the image to adapt, instead of source_job_id.",
	"target_culture":      "The audience to adapt to, at most 200 characters (\"French urban premium\").",
	"target_language":     "Language code of the text (fr, de, pt-BR...).",
	"target_currency":     "Currency of prices shown (EUR, JPY...).",
	"command":             "The command as an argv list ([make, assets]); no shell.",
	"script":              "A shell script, run with sh -c.",
	"env":                 "Extra environment variables (a mapping).",
	"dir":                 "Working directory.",
	"stdin":               "Text given on standard input.",
	"method":              "HTTP method (default GET).",
	"headers":             "Request headers (a mapping).",
	"json":                "A JSON request body (any value).",
	"body":                "A raw request body (a string).",
	"expect_status":       "The status code that counts as success.",
}

func inputDescription(a *ActionSpec, key string) string {
	d := inputDescriptions[key]
	switch {
	case contains(a.Required, key):
		return "Required. " + d
	case contains(a.Optional, key):
		return "Optional. " + d
	}
	for _, g := range a.OneOf {
		if contains(g, key) {
			if a.AtLeastOne {
				return "At least one of " + strings.Join(g, ", ") + ". " + d
			}
			return "Exactly one of " + strings.Join(g, ", ") + ". " + d
		}
	}
	return d
}
