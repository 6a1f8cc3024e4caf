package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/render"
)

// TestActionsCoverTheCatalog: `pi actions` shows exactly the catalog's actions, each with
// exactly its inputs and result fields, in both formats.
func TestActionsCoverTheCatalog(t *testing.T) {
	io, _, out, _ := render.Test()
	if err := runActions(&actionsOptions{IO: io, Output: "json"}); err != nil {
		t.Fatal(err)
	}
	var got []actionJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	all := catalog.All()
	if len(got) != len(all) {
		t.Fatalf("%d actions shown, the catalog has %d", len(got), len(all))
	}
	for i, a := range all {
		g := got[i]
		var inputs []string
		for _, in := range g.Inputs {
			inputs = append(inputs, in.Name)
		}
		listed := append(append(append([]string{}, g.Required...), g.Optional...), flatten(g.OneOf)...)
		listed = append(listed, flatten(g.AtLeastOneOf)...)
		if g.Name != a.Name || strings.Join(inputs, ",") != strings.Join(a.InputNames(), ",") ||
			len(listed) != len(a.Inputs) || strings.Join(g.ResultFields, ",") != strings.Join(a.ResultNames(), ",") {
			t.Errorf("pi actions shows %+v for %s", g, a.Name)
		}
	}

	io, _, out, _ = render.Test()
	if err := runActions(&actionsOptions{IO: io, Output: "table"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range all {
		for _, name := range append(append([]string{a.Name}, a.InputNames()...), a.ResultNames()...) {
			if !strings.Contains(out.String(), name) {
				t.Errorf("the table does not show %s (%s)", name, a.Name)
			}
		}
	}
}

func flatten(groups [][]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
