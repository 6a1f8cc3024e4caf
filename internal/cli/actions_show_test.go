package cli

import (
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/render"
)

// pi actions NAME shows every input and result field of the action and fits a 60-column
// terminal; the list itself does too.
func TestActionsShowFits60Columns(t *testing.T) {
	for _, a := range catalog.All() {
		ios, _, out, _ := render.Test()
		ios.SetTTY(true)
		ios.SetWidth(60)
		f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
		if code := Execute(t.Context(), f, []string{"actions", a.Name}); code != 0 {
			t.Fatalf("pi actions %s: exit %d", a.Name, code)
		}
		text := out.String()
		for i, l := range strings.Split(text, "\n") {
			if n := len([]rune(l)); n > 60 {
				t.Errorf("%s: line %d is %d wide: %q", a.Name, i+1, n, l)
			}
		}
		for _, in := range a.Inputs {
			if !strings.Contains(text, "\n  "+in.Name+" (") {
				t.Errorf("%s: input %s missing:\n%s", a.Name, in.Name, text)
			}
		}
		for _, r := range a.ResultNames() {
			if !strings.Contains(text, "\n  "+r+" (") {
				t.Errorf("%s: result field %s missing:\n%s", a.Name, r, text)
			}
		}
	}
	ios, _, out, _ := render.Test()
	ios.SetTTY(true)
	ios.SetWidth(60)
	if code := Execute(t.Context(), &Factory{IO: ios, Getenv: func(string) string { return "" }}, []string{"actions"}); code != 0 {
		t.Fatalf("pi actions: exit %d", code)
	}
	for i, l := range strings.Split(out.String(), "\n") {
		if n := len([]rune(l)); n > 60 {
			t.Errorf("list line %d is %d wide: %q", i+1, n, l)
		}
	}
	if !strings.Contains(out.String(), "campaigns.localize_ad") {
		t.Errorf("list lacks an action:\n%s", out)
	}
	ios, _, _, errOut := render.Test()
	if code := Execute(t.Context(), &Factory{IO: ios, Getenv: func(string) string { return "" }}, []string{"actions", "brands.extrac"}); code != ExitUsage ||
		!strings.Contains(errOut.String(), `no action "brands.extrac": try brands.extract`) {
		t.Errorf("unknown action: exit %d, %s", code, errOut)
	}
}
