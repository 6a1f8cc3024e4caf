package pipeline

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

const seedYAML = `steps:
  - id: extract_brand
    action: brands.extract
    input: { url: "https://example.com" }
  - id: generate_hero
    action: campaigns.generate
    depends_on: [extract_brand]
    input: { prompt: "Create a hero campaign ad for this brand" }
    input_map:
      brand_id: "$steps.extract_brand.result.brand_id"
metadata: { pipeline: campaign-launch }
`

func mustParse(t *testing.T, src string) *Pipeline {
	t.Helper()
	p, _, ds := Parse("t.yaml", []byte(src))
	if ds.HasErrors() || p == nil {
		t.Fatalf("Parse: unexpected diagnostics:\n%s", ds.Error())
	}
	return p
}

// validated is what validation (not decoding) reports of the file src, as t.yaml.
func validated(t *testing.T, src string, mode Mode, params map[string]string) Diagnostics {
	t.Helper()
	p, s, ds := Parse("t.yaml", []byte(src))
	if ds.HasErrors() || p == nil {
		t.Fatalf("Parse: unexpected diagnostics:\n%s", ds.Error())
	}
	_, vds := validate(p, s, mode, params)
	return vds
}

// withParamsOf is p expanded with the params applied, as Load makes it.
func withParamsOf(p *Pipeline, overrides map[string]string) (*Pipeline, error) {
	x, _ := validate(p, nil, Local, overrides)
	return withParams(p, x, overrides)
}

func TestParsePositions(t *testing.T) {
	p, src, ds := Parse("t.yaml", []byte(seedYAML))
	if len(ds) != 0 {
		t.Fatal(ds)
	}
	tests := []struct {
		path string
		key  bool
		want Pos
	}{
		{"steps", false, Pos{2, 3}},
		{"steps", true, Pos{1, 1}},
		{"steps.1", false, Pos{5, 5}},
		{"steps.1.id", false, Pos{5, 9}},
		{"steps.1.id", true, Pos{5, 5}},
		{"steps.1.action", false, Pos{6, 13}},
		{"steps.1.depends_on.0", false, Pos{7, 18}},
		{"steps.1.depends_on.0", true, Pos{7, 18}}, // a list item has no key
		{"steps.1.input", false, Pos{8, 12}},
		{"steps.1.input.prompt", true, Pos{8, 14}},
		{"steps.1.input.prompt", false, Pos{8, 22}},
		{"steps.1.input.prompt.deeper.still", false, Pos{8, 22}}, // the innermost known
		{"steps.1.input_map.brand_id", false, Pos{10, 17}},
		{"steps.1.input_map.brand_id", true, Pos{10, 7}},
		{"steps.1.retry", false, Pos{5, 5}}, // not written: the step
		{"steps.7.id", false, Pos{2, 3}},    // no such step: the list
		{"metadata", false, Pos{11, 11}},
		{"params.x", false, Pos{}},
	}
	for _, tt := range tests {
		got := src.Locate(tt.path)
		if tt.key {
			got = src.LocateKey(tt.path)
		}
		if got != tt.want {
			t.Errorf("%s (key %v): got %v, want %v", tt.path, tt.key, got, tt.want)
		}
	}
	if _, ds := validate(p, src, Remote, nil); len(ds) != 0 {
		t.Errorf("validate: unexpected diagnostics:\n%s", ds.Error())
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	src := `x-gen: &gen
  action: campaigns.generate
  retry: { max_attempts: 2, backoff: 3s }
prompt: &prompt "a hero ad"
steps:
  - id: a
    <<: *gen
    input: { prompt: *prompt }
  - <<: *gen
    id: b
    action: campaigns.generate
    input: { prompt: "override" }
`
	p, _, ds := Parse("t.yaml", []byte(src))
	// `prompt` at the top level is unknown; the anchors still resolve.
	if len(ds) != 1 || !strings.Contains(ds[0].Message, `unknown top-level key "prompt"`) {
		t.Fatalf("diagnostics: %v", ds)
	}
	if got := p.Steps[0]; got.Action != "campaigns.generate" || got.Input["prompt"] != "a hero ad" ||
		got.Retry == nil || got.Retry.MaxAttempts != 2 || got.Retry.Backoff != 3*time.Second {
		t.Errorf("step a: %+v", got)
	}
	if got := p.Steps[1]; got.ID != "b" || got.Input["prompt"] != "override" {
		t.Errorf("step b: %+v", got)
	}
}

func TestWithParams(t *testing.T) {
	src := `params:
  url: https://example.com
  count: 2
  ratio: 1.5
  on: true
steps:
  - id: a
    action: brands.extract
    input:
      url: "${params.url}"
      n: "${params.count}"
      both: "${params.url}/x?n=${params.count}"
      list: ["${params.on}", { r: "${params.ratio}" }]
`
	tests := []struct {
		name      string
		overrides map[string]string
		want      map[string]any
		wantErr   string
	}{
		{
			name: "defaults keep their types",
			want: map[string]any{"url": "https://example.com", "n": 2, "both": "https://example.com/x?n=2",
				"list": []any{true, map[string]any{"r": 1.5}}},
		},
		{
			name:      "overrides win and are typed like the default",
			overrides: map[string]string{"url": "https://pi.dev", "count": "7", "ratio": "2"},
			want: map[string]any{"url": "https://pi.dev", "n": 7, "both": "https://pi.dev/x?n=7",
				"list": []any{true, map[string]any{"r": 2.0}}},
		},
		{name: "unknown override", overrides: map[string]string{"urll": "x"}, wantErr: `-p urll: the pipeline defines no param "urll" (did you mean "url"?)`},
		{name: "wrong type", overrides: map[string]string{"count": "many"}, wantErr: "-p count=many: the default of count is 2 (a number)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, src)
			before := p.Steps[0].Input["url"]
			q, err := withParamsOf(p, tt.overrides)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(q.Steps[0].Input, tt.want) {
				t.Errorf("input = %#v\nwant %#v", q.Steps[0].Input, tt.want)
			}
			if p.Steps[0].Input["url"] != before {
				t.Errorf("WithParams modified the receiver")
			}
		})
	}
}

func TestRunsBody(t *testing.T) {
	src := seedYAML + `params: { unused: 1 }
`
	src = strings.Replace(src, "    input: { url: \"https://example.com\" }\n", "    input: { url: \"https://example.com\" }\n    retry: { max_attempts: 2 }\n    timeout: 1m\n", 1)
	p := mustParse(t, src)
	if !p.HasExtensions() {
		t.Errorf("HasExtensions = false, want true")
	}
	b, err := p.RunsBody()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"steps":[{"id":"extract_brand","action":"brands.extract","input":{"url":"https://example.com"},"depends_on":[]},` +
		`{"id":"generate_hero","action":"campaigns.generate","input":{"prompt":"Create a hero campaign ad for this brand"},"depends_on":["extract_brand"],"input_map":{"brand_id":"$steps.extract_brand.result.brand_id"}}],` +
		`"metadata":{"pipeline":"campaign-launch"}}`
	if string(b) != want {
		t.Errorf("RunsBody:\n got %s\nwant %s", b, want)
	}
	if mustParse(t, seedYAML).HasExtensions() {
		t.Errorf("HasExtensions = true for the seed, want false")
	}
}

func TestDiagnosticForms(t *testing.T) {
	tests := []struct {
		d       Diagnostic
		str, js string
	}{
		{Diagnostic{File: "a.yaml", Pos: Pos{3, 7}, Severity: Error, Code: CodeUnknownStep, Step: "b", Path: "steps.1.depends_on.0", Message: "bad"}, "a.yaml:3:7: bad",
			`{"file":"a.yaml","line":3,"column":7,"severity":"error","code":"unknown-step","step":"b","path":"steps.1.depends_on.0","message":"bad"}`},
		{Diagnostic{File: "a.yaml", Pos: Pos{1, 1}, Severity: Warning, Code: CodeParamUnused, Path: "params.x", Message: "meh"}, "a.yaml:1:1: warning: meh",
			`{"file":"a.yaml","line":1,"column":1,"severity":"warning","code":"param-unused","step":"","path":"params.x","message":"meh"}`},
		{Diagnostic{File: "a.yaml", Severity: Error, Code: CodeParamUnknown, Message: "no pos"}, "a.yaml: no pos",
			`{"file":"a.yaml","line":0,"column":0,"severity":"error","code":"param-unknown","step":"","path":"","message":"no pos"}`},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
		b, _ := json.Marshal(tt.d)
		if string(b) != tt.js {
			t.Errorf("JSON = %s, want %s", b, tt.js)
		}
	}
}

// TestValidateModes: over 10 steps is no problem in either mode (pi run cuts a remote run
// into server runs of at most 10, internal/waves); the actions decide the mode.
func TestValidateModes(t *testing.T) {
	var local, remote strings.Builder
	local.WriteString("steps:\n")
	remote.WriteString("steps:\n")
	for i := range 11 {
		local.WriteString("  - { id: s" + string(rune('a'+i)) + ", action: shell.run, input: { script: 'true' } }\n")
		remote.WriteString("  - { id: s" + string(rune('a'+i)) + ", action: campaigns.generate, input: { prompt: ad } }\n")
	}
	if ds := validated(t, remote.String(), Remote, nil); len(ds) != 0 {
		t.Errorf("remote, 11 steps: %v", ds)
	}
	if ds := validated(t, local.String(), Local, nil); len(ds) != 0 {
		t.Errorf("local, 11 steps: %v", ds)
	}
	if ds := validated(t, local.String(), Remote, nil); !ds.HasErrors() || !strings.Contains(ds[0].Message, "runs only on this machine") {
		t.Errorf("remote, shell.run: %v", ds)
	}
}

func TestDuplicateKeysInBigMapping(t *testing.T) {
	var b strings.Builder
	b.WriteString("steps:\n  - id: a\n    action: campaigns.generate\n    input:\n      prompt: p\n")
	for i := range 40 {
		b.WriteString("      k" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ": 1\n")
	}
	b.WriteString("      prompt: again\n")
	_, _, ds := Parse("t.yaml", []byte(b.String()))
	if len(ds) != 1 || !strings.Contains(ds[0].Message, `duplicate key "prompt" (first at 5:7)`) {
		t.Errorf("diagnostics: %v", ds)
	}
}

func TestLayers(t *testing.T) {
	tests := []struct {
		name  string
		steps []Step
		want  [][]string
	}{
		{"single", []Step{{ID: "a"}}, [][]string{{"a"}}},
		{"diamond in declaration order", []Step{
			{ID: "d", DependsOn: []string{"b", "c"}}, {ID: "c", DependsOn: []string{"a"}},
			{ID: "b", DependsOn: []string{"a"}}, {ID: "a"},
		}, [][]string{{"a"}, {"c", "b"}, {"d"}}},
		{"depth is the longest path", []Step{
			{ID: "a"}, {ID: "b", DependsOn: []string{"a"}}, {ID: "c", DependsOn: []string{"a", "b"}},
		}, [][]string{{"a"}, {"b"}, {"c"}}},
		{"unknown dependency ignored", []Step{{ID: "a", DependsOn: []string{"zz"}}}, [][]string{{"a"}}},
		{"cycle still lists every step once", []Step{
			{ID: "a", DependsOn: []string{"b"}}, {ID: "b", DependsOn: []string{"a"}}, {ID: "c"},
		}, [][]string{{"b", "c"}, {"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := (&Pipeline{Steps: tt.steps}).Layers()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Layers() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCycleNameIsStable: the cycle is named the same whatever the declaration order.
func TestCycleNameIsStable(t *testing.T) {
	steps := []Step{
		{ID: "hero", Action: "campaigns.generate", Input: map[string]any{"prompt": "p"}, DependsOn: []string{"fr"}},
		{ID: "fr", Action: "campaigns.generate", Input: map[string]any{"prompt": "p"}, DependsOn: []string{"edit"}},
		{ID: "edit", Action: "campaigns.generate", Input: map[string]any{"prompt": "p"}, DependsOn: []string{"hero"}},
		{ID: "x", Action: "campaigns.generate", Input: map[string]any{"prompt": "p"}, DependsOn: []string{"x2"}},
		{ID: "x2", Action: "campaigns.generate", Input: map[string]any{"prompt": "p"}, DependsOn: []string{"x"}},
	}
	want := []string{
		"dependency cycle: fr -> edit -> hero -> fr (each step depends on the next): remove one of these dependencies",
		"dependency cycle: x -> x2 -> x (each step depends on the next): remove one of these dependencies",
	}
	orders := [][]int{{0, 1, 2, 3, 4}, {2, 1, 0, 4, 3}, {4, 1, 3, 0, 2}}
	for _, order := range orders {
		var p Pipeline
		for _, i := range order {
			p.Steps = append(p.Steps, steps[i])
		}
		var got []string
		_, ds := validate(&p, nil, Local, nil)
		for _, d := range ds {
			got = append(got, d.Message)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("order %v:\n got %q\nwant %q", order, got, want)
		}
	}
}

// TestBuiltInCode: a pipeline built in code (no positions, as the sandbox builds one from a
// JSON body) is validated too, with diagnostics that have no position.
func TestBuiltInCode(t *testing.T) {
	p := &Pipeline{Steps: []Step{
		{ID: "a", Action: "campaigns.generate", Input: map[string]any{"prompt": "${params.x}"}},
		{ID: "b", Action: "campaigns.edit", Input: map[string]any{"prompt": "warmer"}, InputMap: map[string]string{"source_job_id": "$steps.a.result.job_id"}},
	}}
	_, got := validate(p, nil, Remote, nil)
	want := []string{
		`input_map.source_job_id refers to step "a" which is not in depends_on (add a to depends_on)`,
		`undefined param "x": define it under params: (with a default) or fix the name`,
	}
	var msgs []string
	for _, d := range got {
		if d.Pos != (Pos{}) {
			t.Errorf("position %v for a pipeline without positions", d.Pos)
		}
		msgs = append(msgs, d.Message)
	}
	sort.Strings(msgs)
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("got %q\nwant %q", msgs, want)
	}
}

func TestSnippet(t *testing.T) {
	src := []byte("steps:\n  - id: a\n\tx: 1\n")
	tests := []struct {
		pos  Pos
		want string
	}{
		{Pos{2, 5}, " 2 |   - id: a\n   |     ^\n"},
		{Pos{3, 2}, " 3 | \tx: 1\n   | \t^\n"},
		{Pos{}, ""},
		{Pos{9, 1}, ""},
		{Pos{1, 99}, ""},
	}
	for _, tt := range tests {
		if got := (Diagnostic{Pos: tt.pos}).Snippet(src); got != tt.want {
			t.Errorf("Snippet(%v) = %q, want %q", tt.pos, got, tt.want)
		}
	}
}

// Equal small inputs are decoded once and shared; inputs that only look alike are not.
func TestEqualInputsShared(t *testing.T) {
	p := mustParse(t, `steps:
  - { id: a, action: shell.run, input: { command: ["true"] } }
  - { id: b, action: shell.run, input: { command: ["true"] } }
  - { id: c, action: shell.run, input: { command: [true] } }
  - { id: d, action: shell.run, input: { command: ["true"], env: { X: "1" } } }
  - { id: e, action: shell.run, input: { script: "1" } }
  - { id: f, action: shell.run, input: { script: 1 } }
`)
	same := func(i, j int) bool {
		return reflect.ValueOf(p.Steps[i].Input).Pointer() == reflect.ValueOf(p.Steps[j].Input).Pointer()
	}
	if !same(0, 1) {
		t.Errorf("a and b have equal inputs, not shared")
	}
	for _, pair := range [][2]int{{0, 2}, {0, 3}, {4, 5}} {
		if same(pair[0], pair[1]) {
			t.Errorf("steps %d and %d share an input: %v, %v", pair[0], pair[1], p.Steps[pair[0]].Input, p.Steps[pair[1]].Input)
		}
	}
}
