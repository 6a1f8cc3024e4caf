package catalog

import "testing"

// A short name names one action: no two server actions share their last part, and no
// short name of a server action is the whole name of another action.
func TestShortNamesAreUnique(t *testing.T) {
	seen := map[string]string{}
	for _, a := range All() {
		s := ShortName(a.Name)
		if other, dup := seen[s]; dup {
			t.Errorf("%s and %s both shorten to %q", other, a.Name, s)
		}
		seen[s] = a.Name
	}
	for in, want := range map[string]string{
		"campaigns.localize_ad": "localize_ad",
		"brands.extract":        "extract",
		"shell.run":             "shell.run",
		"http.request":          "http.request",
		"acme.unknown":          "acme.unknown",
		"":                      "",
	} {
		if got := ShortName(in); got != want {
			t.Errorf("ShortName(%q) = %q, want %q", in, got, want)
		}
	}
}
