package pipeline

import (
	"strings"
	"testing"
)

// `cache:` is a step's say in the step cache: a boolean, kept by matrix expansion, never
// sent in the Runs API body.
func TestStepCacheKey(t *testing.T) {
	p, _, ds, err := Load("c.yaml", Options{Data: []byte(`
steps:
  - id: a
    action: brands.extract
    cache: false
    input: { url: "https://example.com" }
  - id: loc
    action: campaigns.generate
    cache: true
    matrix: { tone: [warm, cold] }
    input: { prompt: "${matrix.tone}" }
  - id: b
    action: campaigns.generate
    input: { prompt: x }
`)})
	if err != nil || p == nil {
		t.Fatalf("%v %v", ds, err)
	}
	if c := p.Steps[0].Cache; c == nil || *c {
		t.Errorf("a: cache %v", c)
	}
	for _, s := range p.Steps[1:3] {
		if s.Cache == nil || !*s.Cache {
			t.Errorf("%s: cache %v", s.ID, s.Cache)
		}
	}
	if p.Steps[3].Cache != nil {
		t.Errorf("b: cache %v", *p.Steps[3].Cache)
	}
	body, err := p.RunsBody()
	if err != nil || strings.Contains(string(body), "cache") {
		t.Errorf("body %s (%v)", body, err)
	}
	_, _, ds, _ = Load("bad.yaml", Options{Data: []byte("steps:\n  - id: a\n    action: brands.extract\n    cache: sometimes\n    input: { url: \"https://example.com\" }\n")})
	if !ds.HasErrors() || !strings.Contains(ds.Error(), "bad.yaml:4:12: cache must be true or false, not the string \"sometimes\"") {
		t.Errorf("diagnostics %v", ds)
	}
}
