package actions

import (
	"sort"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/catalog"
)

// TestLocalExecutorsCoverTheCatalog: every local action of the catalog has an executor,
// and there is no executor the catalog does not know (Pi actions all go through Pi).
func TestLocalExecutorsCoverTheCatalog(t *testing.T) {
	var want, got []string
	for _, a := range catalog.All() {
		if a.Local {
			want = append(want, a.Name)
		}
	}
	for name := range Local() {
		got = append(got, name)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("executors %v, catalog's local actions %v", got, want)
	}
}
