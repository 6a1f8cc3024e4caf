package pipeline

import (
	"os"
	"path/filepath"
	"testing"
)

// Options.Drawable returns a pipeline whose only errors are in its steps' inputs, for pi
// graph; a structural error still returns none, and without Drawable no file with an
// error ever comes back (runs never see one).
func TestDrawable(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, text string
		drawable   bool
	}{
		{"bad enum value", "steps:\n  - id: a\n    action: campaigns.generate\n    input: { prompt: p, output: { resolution: 2k } }\n", true},
		{"missing input", "steps:\n  - id: a\n    action: brands.extract\n", true},
		{"unknown dependency", "steps:\n  - id: a\n    action: brands.extract\n    input: { url: https://x.test }\n    depends_on: [b]\n", false},
		{"bad reference", "steps:\n  - id: a\n    action: campaigns.generate\n    input: { prompt: p }\n    input_map: { brand_id: $steps.nosuch.result.brand_id }\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "p.yaml")
			if err := os.WriteFile(path, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			p, _, ds, err := Load(path, Options{Mode: Local, Drawable: true})
			if err != nil || !ds.HasErrors() {
				t.Fatalf("want errors: %v %v", err, ds)
			}
			if (p != nil) != tt.drawable {
				t.Errorf("drawable = %v, want %v (%v)", p != nil, tt.drawable, ds)
			}
			if p, _, _, _ := Load(path, Options{Mode: Local}); p != nil {
				t.Error("a file with errors came back without Drawable")
			}
		})
	}
}
