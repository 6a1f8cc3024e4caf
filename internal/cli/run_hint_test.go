package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// A --sandbox run's image URLs die with pi: a person at a terminal is told how to see the
// ads (the report, a download, which work after pi exits); not when they asked for either,
// not in a pipe, not without an image.
func TestSandboxImagesHint(t *testing.T) {
	ad := &run.Run{ID: "45de2349-0000-4000-8000-000000000000", Status: run.Completed, Steps: []run.Step{
		{ID: "hero", Action: "campaigns.generate", Status: run.StepCompleted, Result: map[string]any{"image_url": "http://127.0.0.1:9/a.png"}}}}
	reused := &run.Run{ID: ad.ID, Status: run.Completed, Steps: []run.Step{
		{ID: "hero", Action: "campaigns.generate", Status: run.StepReused, Result: map[string]any{"image_url": "http://127.0.0.1:9/a.png"}}}}
	brand := &run.Run{ID: ad.ID, Status: run.Completed, Steps: []run.Step{
		{ID: "b", Action: "brands.extract", Status: run.StepCompleted, Result: map[string]any{"brand_id": "x"}}}}
	for _, tt := range []struct {
		name string
		tty  bool
		mod  func(o *runOptions)
		r    *run.Run
		want bool
	}{
		{"terminal", true, nil, ad, true},
		{"reused from the step cache", true, nil, reused, true},
		{"pipe", false, nil, ad, false},
		{"--download", true, func(o *runOptions) { o.Download = "out" }, ad, false},
		{"--web", true, func(o *runOptions) { o.Web = true }, ad, false},
		{"-q", true, func(o *runOptions) { o.Quiet = true }, ad, false},
		{"-o json", true, func(o *runOptions) { o.Output = render.FormatJSON }, ad, false},
		{"not the sandbox", true, func(o *runOptions) { o.Sandbox = false }, ad, false},
		{"no image", true, nil, brand, false},
	} {
		ios, _, _, errOut := render.Test()
		ios.SetTTY(tt.tty)
		o := &runOptions{Sandbox: true, runDeps: runDeps{IO: ios}}
		if tt.mod != nil {
			tt.mod(o)
		}
		if res := (runResult{run: tt.r, how: outcomeEnded}); showsSandboxImagesHint(o, res) {
			sandboxImagesHint(o.IO, res.run)
		}
		got := strings.Contains(errOut.String(), "  pi runs report 45de2349 --web   to see the ads\n  pi runs download 45de2349       to save them\n")
		if got != tt.want {
			t.Errorf("%s: hint shown %v, want %v: %q", tt.name, got, tt.want, errOut)
		}
	}
}

// pi runs get of a run a sandbox made, at a terminal, ends with the same hint (its image
// URLs are a sandbox's inside this pi); not with -o json, nor for a run without images.
func TestRunsGetOfSandboxRunHints(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"XDG_STATE_HOME": dir, "XDG_CACHE_HOME": dir}
	pi := func(args ...string) string {
		ios, _, out, errOut := render.Test()
		ios.SetTTY(true)
		f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
		if code := Execute(context.Background(), f, args); code != ExitOK {
			t.Fatalf("pi %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
		}
		return errOut.String()
	}
	ad := writeFile(t, dir, "ad.yaml", "steps:\n  - id: hero\n    action: campaigns.generate\n    input: {prompt: An ad}\n")
	brand := writeFile(t, dir, "brand.yaml", "steps:\n  - id: brand\n    action: brands.extract\n    input: {url: https://example.com}\n")
	runID := func(file string) string {
		pi("run", file, "--sandbox")
		st, err := store.Open(context.Background(), filepath.Join(dir, "pi", "runs.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		list, err := st.ListWhere(context.Background(), store.Filter{})
		if err != nil || len(list) == 0 {
			t.Fatalf("no run recorded: %v", err)
		}
		return list[0].ID
	}
	adRun := runID(ad)
	hint := "  pi runs report " + adRun[:8] + " --web   to see the ads\n"
	if got := pi("runs", "get", adRun); !strings.Contains(got, hint) {
		t.Errorf("runs get of a sandbox run with an image: no hint:\n%s", got)
	}
	if got := pi("runs", "get", adRun, "-o", "json"); strings.Contains(got, "pi runs report") {
		t.Errorf("runs get -o json hints:\n%s", got)
	}
	if got := pi("runs", "get", runID(brand)); strings.Contains(got, "pi runs report") {
		t.Errorf("runs get of a run without images hints:\n%s", got)
	}
}
