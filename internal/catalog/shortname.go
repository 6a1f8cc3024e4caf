package catalog

import "strings"

// ShortName is how a narrow display (the run table's ACTION column) names an action: a Pi
// action by the part after its namespace (localize_ad for campaigns.localize_ad), which no
// two server actions share; a local one (shell.run, http.request) whole, since there the
// namespace is what tells it ("run" says nothing); an unknown name as it is written.
func ShortName(name string) string {
	a, ok := Lookup(name)
	if !ok || a.Local {
		return name
	}
	return name[strings.LastIndex(name, ".")+1:]
}
