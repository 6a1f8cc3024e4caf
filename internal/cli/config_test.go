package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
)

// A missing key is said before any request, naming the config file; a typo in the config
// file is flagged with the key it meant.
func TestNoAPIKeyAndConfigTypos(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pi", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("base_url: https://pi.example.test\napi-key: sk_live_x\nbaseurl: y\ncolour: on\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(file, []byte(validPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := render.Test()
	env := map[string]string{"XDG_CONFIG_HOME": dir}
	f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
	err := runRun(t.Context(), &runOptions{runDeps: f.runDeps(), File: file, Output: render.FormatTable})
	if err == nil || !strings.Contains(err.Error(), "no API key: set PI_API_KEY or api_key in "+cfg) {
		t.Fatalf("err = %v, want the local no-key message", err)
	}
	if exitCode(err) != ExitAPI {
		t.Errorf("exit %d, want %d", exitCode(err), ExitAPI)
	}
	for _, want := range []string{
		`unknown key "api-key" is ignored (did you mean api_key?)`,
		`unknown key "baseurl" is ignored (did you mean base_url?)`,
		`unknown key "colour" is ignored (known keys: base_url, api_key, strict)`,
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestLocalOnlyNote(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"params:\n  url: {default: https://x.test}\nsteps:\n  - id: b\n    action: brands.extract\n    input: {url: \"${params.url}\"}\n", ""},
		{"steps:\n  - id: b\n    action: brands.extract\n    input: {url: https://x.test}\n    retry: {max_attempts: 2}\n    timeout: 1m\n",
			"note: retry and timeout (steps b) apply to --local runs only: they are not sent to the Pi API"},
	} {
		p, _, ds := pipeline.Parse("p.yaml", []byte(tc.yaml))
		if p == nil || ds.HasErrors() {
			t.Fatalf("parse: %v", ds)
		}
		if got := localOnlyNote(p); got != tc.want {
			t.Errorf("note = %q, want %q", got, tc.want)
		}
	}
}
