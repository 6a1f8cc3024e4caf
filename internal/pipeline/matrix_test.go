package pipeline

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// expandOK parses src, validates it (no errors allowed) and returns it expanded with the
// params substituted, as pi run does.
func expandOK(t *testing.T, src string, mode Mode, params map[string]string) *Pipeline {
	t.Helper()
	q, _, ds, err := Load("t.yaml", Options{Data: []byte(src), Mode: mode, Params: params})
	if err != nil || q == nil {
		t.Fatalf("Load: %v\n%s", err, ds.Error())
	}
	return q
}

func stepIDs(p *Pipeline) []string {
	out := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		out[i] = s.ID
	}
	return out
}

const productYAML = `steps:
  - id: loc
    action: campaigns.localize_ad
    matrix:
      culture: [French urban premium, German minimalist]
      tier: [basic, premium, 3]
    input:
      prompt: "Keep the layout, tier ${matrix.tier}"
      target_culture: "${matrix.culture}"
      source_image_url: https://cdn.example.com/hero.png
      metadata: { label: "tier ${matrix.tier}" }
      brand_identity_json: "${matrix.tier}"
`

func TestMatrixProductOrder(t *testing.T) {
	q := expandOK(t, productYAML, Remote, nil)
	want := []string{
		"loc-french-urban-premium-basic", "loc-french-urban-premium-premium", "loc-french-urban-premium-3",
		"loc-german-minimalist-basic", "loc-german-minimalist-premium", "loc-german-minimalist-3",
	}
	if got := stepIDs(q); !reflect.DeepEqual(got, want) {
		t.Fatalf("ids = %q\nwant %q", got, want)
	}
	s := q.Steps[2]
	if s.Input["target_culture"] != "French urban premium" || s.Input["prompt"] != "Keep the layout, tier 3" {
		t.Errorf("input = %v", s.Input)
	}
	// a string that is only the reference keeps the value's type (brand_identity_json is
	// dropped by localize_ad, so any value validates; metadata values must be strings)
	if got := s.Input["brand_identity_json"]; got != 3 {
		t.Errorf("brand_identity_json = %#v, want the number 3", got)
	}
	if got := s.Input["metadata"].(map[string]any)["label"]; got != "tier 3" {
		t.Errorf("metadata.label = %#v", got)
	}
	if s.Matrix != nil || s.Origin == nil || s.Origin.Template != "loc" || s.Origin.Index != 3 || s.Origin.Count != 6 {
		t.Errorf("origin = %+v", s.Origin)
	}
	if !reflect.DeepEqual(s.Origin.Values, map[string]any{"culture": "French urban premium", "tier": 3}) {
		t.Errorf("values = %v", s.Origin.Values)
	}
	if got := q.Expanded(); !reflect.DeepEqual(got, []MatrixSummary{{"loc", 6}}) {
		t.Errorf("Expanded = %v", got)
	}
	// The template's input is not touched.
	p := mustParse(t, productYAML)
	_, _ = withParamsOf(p, nil)
	if p.Steps[0].Input["target_culture"] != "${matrix.culture}" {
		t.Errorf("template modified: %v", p.Steps[0].Input)
	}
}

func TestMatrixMappingItems(t *testing.T) {
	q := expandOK(t, `steps:
  - id: localize
    action: campaigns.localize_ad
    matrix:
      locale:
        - { culture: French urban premium, language: fr, currency: EUR }
        - { name: japan, culture: Japanese Tokyo youth, language: ja, currency: JPY }
    input:
      prompt: Keep the layout
      target_culture: "${matrix.locale.culture}"
      target_language: "${matrix.locale.language}"
      target_currency: "${matrix.locale.currency}"
      metadata: { locale: "${matrix.locale.language}-${matrix.locale.currency}" }
      source_image_url: https://cdn.example.com/hero.png
`, Remote, nil)
	// a mapping item is named by its name field, else its scalar fields in the order the
	// file writes them (not sorted: culture, language, currency)
	if got, want := stepIDs(q), []string{"localize-french-urban-premium-fr-eur", "localize-japan"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ids = %q, want %q", got, want)
	}
	in := q.Steps[1].Input
	if in["target_culture"] != "Japanese Tokyo youth" || in["target_currency"] != "JPY" || in["metadata"].(map[string]any)["locale"] != "ja-JPY" {
		t.Errorf("input = %v", in)
	}
}

// The keys of a mapping item name it in the order written, in block style too, and the
// same keys in another order make another id; an item from a param (whose keys -p may
// give as JSON, without order) is named by its keys sorted.
func TestMatrixIDsKeyOrder(t *testing.T) {
	q := expandOK(t, `params:
  locales:
    - { size: big, culture: fr }
steps:
  - id: loc
    action: shell.run
    matrix:
      locale:
        - size: small
          culture: de
        - { culture: fr, size: big }
    input: { command: [echo, "${matrix.locale.culture}"] }
  - id: par
    action: shell.run
    matrix: { locale: "${params.locales}" }
    input: { command: [echo, "${matrix.locale.culture}"] }
`, Local, nil)
	if got, want := stepIDs(q), []string{"loc-small-de", "loc-fr-big", "par-fr-big"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ids = %q, want %q", got, want)
	}
}

func TestMatrixFromParams(t *testing.T) {
	src := `params:
  cultures: [French urban premium, German minimalist]
  extra: Spanish festive
steps:
  - id: localize
    action: campaigns.localize_ad
    matrix:
      culture: ${params.cultures}
    input: { prompt: Keep the layout, target_culture: "${matrix.culture}", source_image_url: https://cdn.example.com/hero.png }
  - id: other
    action: campaigns.localize_ad
    matrix:
      culture: [Italian, "${params.extra}"]
    input: { prompt: Keep the layout, target_culture: "${matrix.culture}", source_image_url: https://cdn.example.com/hero.png }
`
	q := expandOK(t, src, Remote, nil)
	want := []string{"localize-french-urban-premium", "localize-german-minimalist", "other-italian", "other-spanish-festive"}
	if got := stepIDs(q); !reflect.DeepEqual(got, want) {
		t.Errorf("defaults: ids = %q, want %q", got, want)
	}
	// -p cultures=[fr, de, jp] changes the fan-out, as pi run reads it
	q = expandOK(t, src, Remote, map[string]string{"cultures": "[fr, de, jp]", "extra": "Dutch"})
	want = []string{"localize-fr", "localize-de", "localize-jp", "other-italian", "other-dutch"}
	if got := stepIDs(q); !reflect.DeepEqual(got, want) {
		t.Errorf("-p: ids = %q, want %q", got, want)
	}
	if q.Steps[4].Input["target_culture"] != "Dutch" {
		t.Errorf("param in a matrix item: %v", q.Steps[4].Input)
	}
	// the param used only in a matrix is used: no warning
	if ds := validated(t, src, Remote, nil); len(ds) != 0 {
		t.Errorf("unexpected diagnostics:\n%s", ds.Error())
	}
	ds := validated(t, src, Remote, map[string]string{"cultures": "[]"})
	if !strings.Contains(ds.Error(), "8:16: matrix.culture takes its values from ${params.cultures}, which is an empty list") {
		t.Errorf("empty -p list:\n%s", ds.Error())
	}
}

func TestMatrixIDs(t *testing.T) {
	long := strings.Repeat("very long culture name ", 4)
	src := `steps:
  - id: loc-fr
    action: campaigns.generate
    input: { prompt: taken id }
  - id: loc
    action: campaigns.localize_ad
    matrix:
      culture: [fr, FR!, "` + long + `", "¡¡", 日本]
    input: { prompt: Keep the layout, target_culture: "${matrix.culture}", source_image_url: https://cdn.example.com/hero.png }
`
	q := expandOK(t, src, Remote, nil)
	// fr collides with a step of the file, FR! with fr, the long one is too long, ¡¡ has no
	// letters: each falls back to its index in the product.
	want := []string{"loc-fr", "loc-1", "loc-2", "loc-3", "loc-4", "loc-日本"}
	if got := stepIDs(q); !reflect.DeepEqual(got, want) {
		t.Fatalf("ids = %q, want %q", got, want)
	}
	// stable: the same file and params give the same ids
	for i := 0; i < 5; i++ {
		if got := stepIDs(expandOK(t, src, Remote, nil)); !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d: ids = %q", i, got)
		}
	}
	// a 64-character template id: the index suffix still fits
	base := strings.Repeat("a", 64)
	q = expandOK(t, `steps:
  - id: `+base+`
    action: campaigns.generate
    matrix: { n: [x, y] }
    input: { prompt: "ad ${matrix.n}" }
`, Remote, nil)
	for _, s := range q.Steps {
		if n := utf8.RuneCountInString(s.ID); n > MaxIDLength {
			t.Errorf("id %q is %d long", s.ID, n)
		}
	}
	if got := stepIDs(q); got[0] != strings.Repeat("a", 62)+"-1" || got[1] != strings.Repeat("a", 62)+"-2" {
		t.Errorf("ids = %q", got)
	}
}

func TestMatrixFanInAndPairing(t *testing.T) {
	q := expandOK(t, `steps:
  - id: brand
    action: brands.extract
    input: { url: https://shop.example.com }
  - id: hero
    action: campaigns.generate
    depends_on: [brand]
    matrix: { size: ["1:1", "16:9"] }
    input: { prompt: hero, output: { aspect_ratio: "${matrix.size}" } }
    input_map: { brand_id: $steps.brand.result.brand_id }
  - id: loc
    action: campaigns.localize_ad
    depends_on: [hero]
    matrix: { size: ["16:9", "1:1"], culture: [fr, de] }
    input: { prompt: "Keep ${matrix.size}", target_culture: "${matrix.culture}" }
    input_map: { source_job_id: $steps.hero.result.job_id }
  - id: tweak
    action: campaigns.localize_ad
    depends_on: [loc]
    matrix: { culture: [fr, de], size: ["1:1", "16:9"] }
    input: { prompt: "Sharper for ${matrix.culture} ${matrix.size}", target_culture: "${matrix.culture}" }
    input_map: { source_image_url: $steps.loc.result.image_url }
  - id: recap
    action: campaigns.generate
    depends_on: [tweak, brand]
    input: { prompt: recap }
    input_map: { brand_id: $steps.brand.result.brand_id }
`, Local, nil)
	byID := map[string]Step{}
	for _, s := range q.Steps {
		byID[s.ID] = s
	}
	// loc has hero's key with the same values: each loc pairs with the hero of its size
	if s := byID["loc-16-9-de"]; !reflect.DeepEqual(s.DependsOn, []string{"hero-16-9"}) || s.InputMap["source_job_id"] != "$steps.hero-16-9.result.job_id" {
		t.Errorf("loc-16-9-de: depends_on %v, input_map %v", s.DependsOn, s.InputMap)
	}
	// tweak has loc's matrix (another key order): paired item by item
	if s := byID["tweak-de-1-1"]; !reflect.DeepEqual(s.DependsOn, []string{"loc-1-1-de"}) || s.InputMap["source_image_url"] != "$steps.loc-1-1-de.result.image_url" {
		t.Errorf("tweak-de-1-1: depends_on %v, input_map %v", s.DependsOn, s.InputMap)
	}
	// recap depends on every tweak (fan-in), in product order, then on brand
	want := []string{"tweak-fr-1-1", "tweak-fr-16-9", "tweak-de-1-1", "tweak-de-16-9", "brand"}
	if s := byID["recap"]; !reflect.DeepEqual(s.DependsOn, want) {
		t.Errorf("recap depends_on %v, want %v", s.DependsOn, want)
	}
	if n := len(q.Steps); n != 1+2+4+4+1 {
		t.Errorf("%d steps", n)
	}
	if got := q.ExpansionNote(); got != "after expanding matrices of hero (2), loc (4) and tweak (4)" {
		t.Errorf("note = %q", got)
	}
}

func TestMatrixDiagnosticsNameExpansions(t *testing.T) {
	ds := validated(t, `steps:
  - id: loc
    action: campaigns.localize_ad
    depends_on: [ghost]
    matrix:
      culture: [fr, de, it, es, nl]
    input: { prompt: Keep, target_culture: "${matrix.culture}", source_job_id: not-a-uuid }
  - id: only
    action: campaigns.localize_ad
    matrix: { culture: ["`+strings.Repeat("x", 201)+`", ok] }
    input: { prompt: Keep, target_culture: "${matrix.culture}", source_image_url: https://cdn.example.com/hero.png }
`, Remote, nil)
	got := ds.Error()
	for _, want := range []string{
		`t.yaml:4:18: depends_on: unknown step "ghost" (the steps are loc, only) (in all 5 expansions of loc)`, // once, not five times
		`(in all 5 expansions of loc)`,
		`t.yaml:7:80: input.source_job_id of campaigns.localize_ad: Invalid uuid (in all 5 expansions of loc)`,
		// the culture that is too long is reported at the value, naming its expansion
		`t.yaml:10:25: input.target_culture of campaigns.localize_ad: String must contain at most 200 character(s) (in expansion only-1)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "ghost"); n != 1 {
		t.Errorf("ghost reported %d times:\n%s", n, got)
	}
	// what tools read: merged, the matrix step and its path; alone, the expansion and the
	// matrix value that made the problem
	type where struct {
		code       Code
		step, path string
	}
	var places []where
	for _, d := range ds {
		places = append(places, where{d.Code, d.Step, d.Path})
	}
	for _, want := range []where{
		{CodeUnknownStep, "loc", "steps.0.depends_on.0"},
		{CodeInput, "loc", "steps.0.input.source_job_id"},
		{CodeInput, "only-1", "steps.1.matrix.culture.0"},
	} {
		if !slices.Contains(places, want) {
			t.Errorf("no diagnostic %+v in %+v", want, places)
		}
	}
}

func TestMatrixLocalLimitAndBound(t *testing.T) {
	src := `steps:
  - id: s
    action: shell.run
    matrix: { a: [1, 2, 3, 4], b: [1, 2, 3] }
    input: { command: [echo, "${matrix.a}", "${matrix.b}"] }
`
	ds := validated(t, src, Local, nil)
	if len(ds) != 0 { // the Runs API's limit is not the local engine's: not even a warning
		t.Errorf("local:\n%s", ds.Error())
	}
	q := expandOK(t, src, Local, nil)
	if got := q.Steps[11].Input["command"]; !reflect.DeepEqual(got, []any{"echo", 4, 3}) {
		t.Errorf("command = %#v", got)
	}
	var big strings.Builder
	big.WriteString("steps:\n  - id: s\n    action: shell.run\n    input: { command: [echo] }\n    matrix:\n")
	for _, k := range []string{"a", "b", "c", "d"} {
		big.WriteString("      " + k + ": [1, 2, 3, 4, 5, 6]\n")
	}
	ds = validated(t, big.String(), Local, nil)
	if !strings.Contains(ds.Error(), "the matrix of step \"s\" expands to more than 1000 steps: pi expands at most 1000") {
		t.Errorf("bound:\n%s", ds.Error())
	}
}

func TestMatrixNeverSent(t *testing.T) {
	p := mustParse(t, productYAML)
	if _, err := p.RunsBody(); err == nil || !strings.Contains(err.Error(), "matrix step") {
		t.Errorf("RunsBody of the template: %v", err)
	}
	q := expandOK(t, productYAML, Remote, nil)
	body, err := q.RunsBody()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("matrix")) {
		t.Errorf("body mentions matrix: %s", body)
	}
	var req RunsRequest
	if err := json.Unmarshal(body, &req); err != nil || len(req.Steps) != 6 {
		t.Errorf("body: %v, %d steps", err, len(req.Steps))
	}
}

func TestMatrixBuiltInCode(t *testing.T) {
	p := &Pipeline{Steps: []Step{{
		ID: "g", Action: "campaigns.generate",
		Input:  map[string]any{"prompt": "ad for ${matrix.m}"},
		Matrix: &Matrix{Axes: []MatrixAxis{{Name: "m", Items: []any{"a", "b"}}}},
	}}}
	if _, ds := validate(p, nil, Remote, nil); len(ds) != 0 {
		t.Fatalf("diagnostics:\n%s", ds.Error())
	}
	q, err := withParamsOf(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := stepIDs(q); !reflect.DeepEqual(got, []string{"g-a", "g-b"}) || q.Steps[1].Input["prompt"] != "ad for b" {
		t.Errorf("ids %q, input %v", got, q.Steps[1].Input)
	}
}

func TestSchemaKnowsMatrix(t *testing.T) {
	sch := compileSchema(t)
	inst, ok := asJSON(t, []byte(productYAML))
	if !ok {
		t.Fatal("not decodable")
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("matrix step fails the schema: %v", err)
	}
	for _, bad := range []string{"matrix: {}", "matrix: {culture: []}", "matrix: {culture: fr}", "matrix: {culture: [[fr]]}", "matrix: [fr]"} {
		inst, _ := asJSON(t, []byte("steps:\n  - id: a\n    action: campaigns.generate\n    "+bad+"\n"))
		if err := sch.Validate(inst); err == nil {
			t.Errorf("%s: the schema accepts it", bad)
		}
	}
	inst, _ = asJSON(t, []byte("steps:\n  - id: a\n    action: campaigns.generate\n    matrix: {c: \"${params.cultures}\"}\n"))
	if err := sch.Validate(inst); err != nil {
		t.Errorf("matrix from a param fails the schema: %v", err)
	}
}

func TestMatrixBrokenIsReportedOnce(t *testing.T) {
	for _, tt := range []struct{ matrix, want string }{
		{"[fr, de]", "matrix must be a mapping"},
		{"{culture: [fr, \"${matrix.culture}\"]}", "matrix.culture item 2 uses ${matrix...}"},
	} {
		_, _, ds, _ := Load("t.yaml", Options{Data: []byte(`steps:
  - id: loc
    action: campaigns.localize_ad
    matrix: ` + tt.matrix + `
    input: { prompt: Keep, target_culture: "${matrix.culture}", source_image_url: https://cdn.example.com/a.png }
`)})
		if len(ds) != 1 || !strings.Contains(ds[0].Message, tt.want) {
			t.Errorf("%s: want one diagnostic %q, got:\n%s", tt.matrix, tt.want, ds.Error())
		}
	}
}

func BenchmarkExpand(b *testing.B) {
	// 100 + 900 = 1000 expansions (the bound); loc pairs with gen on a and b.
	src := []byte(`steps:
  - id: gen
    action: campaigns.generate
    matrix: { a: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], b: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }
    input: { prompt: "ad ${matrix.a} ${matrix.b}" }
  - id: loc
    action: campaigns.localize_ad
    depends_on: [gen]
    matrix: { a: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], b: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], c: [x, y, z, w, v, u, t, s, r] }
    input: { prompt: "keep ${matrix.c}", target_culture: "${matrix.c}" }
    input_map: { source_job_id: $steps.gen.result.job_id }
`)
	p, s, ds := Parse("b.yaml", src)
	if p == nil || ds.HasErrors() {
		b.Fatal(ds)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, probs := expand(p, s, nil, scanUses(p), newBudget()); len(probs) != 0 {
			b.Fatal(probs)
		}
	}
}

// A message about another matrix step's expansion speaks of that matrix step, so the
// expansions' diagnostics merge into one that says what to write in the file.
func TestMatrixDiagnosticsNameTemplates(t *testing.T) {
	src := `steps:
  - id: gen
    action: campaigns.generate
    matrix: { size: ["1:1", "16:9"] }
    input: { prompt: "hero ${matrix.size}", output: { aspect_ratio: "${matrix.size}" } }
  - id: loc
    action: campaigns.localize_ad
    matrix: { size: ["1:1", "16:9"] }
    input: { prompt: "keep ${matrix.size}", target_culture: fr }
    input_map: { source_job_id: $steps.gen.result.job_id }
`
	want := `t.yaml:10:33: input_map.source_job_id refers to step "gen" which is not in depends_on (add gen to depends_on) (in all 2 expansions of loc)`
	if got := validated(t, src, Remote, nil).Error(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
