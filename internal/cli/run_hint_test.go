package cli

import (
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
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
		{"not the sandbox", true, func(o *runOptions) { o.Sandbox = false }, ad, false},
		{"no image", true, nil, brand, false},
	} {
		ios, _, _, errOut := render.Test()
		ios.SetTTY(tt.tty)
		o := &runOptions{Sandbox: true, runDeps: runDeps{IO: ios}}
		if tt.mod != nil {
			tt.mod(o)
		}
		sandboxImagesHint(o, runResult{run: tt.r, how: outcomeEnded})
		got := strings.Contains(errOut.String(), "  pi runs report 45de2349 --web   to see the ads\n  pi runs download 45de2349       to save them\n")
		if got != tt.want {
			t.Errorf("%s: hint shown %v, want %v: %q", tt.name, got, tt.want, errOut)
		}
	}
}
