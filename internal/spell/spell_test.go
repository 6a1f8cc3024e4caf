package spell

import "testing"

func TestNearest(t *testing.T) {
	steps := []string{"depends_on", "input", "input_map", "id", "action", "retry", "timeout", "matrix"}
	for _, tt := range []struct {
		s          string
		candidates []string
		want       string
	}{
		{"depends", steps, "depends_on"},
		{"inputs", steps, "input"},
		{"input_maps", steps, "input_map"},
		{"campaigns.genrate", []string{"campaigns.generate", "campaigns.edit"}, "campaigns.generate"}, // a prefix
		{"inptu", steps, "input"},         // two edits
		{"input_mpa", steps, "input_map"}, // two edits in a longer word
		{"timeout", steps, ""},            // itself
		{"zzzzzz", steps, ""},             // nothing near
		{"base-url", []string{"base_url", "api_key"}, "base_url"},
		{"API_KEY", []string{"base_url", "api_key"}, "api_key"},
		{"extrakt", []string{"extract", "extracts"}, "extract"},
		{"ab", []string{"ad", "ac"}, "ac"},       // a tie: the first alphabetically
		{"été", []string{"ete", "étés"}, "étés"}, // one rune is one edit
		{"", []string{"a"}, "a"},
		{"x", nil, ""},
	} {
		if got := Nearest(tt.s, tt.candidates); got != tt.want {
			t.Errorf("Nearest(%q, %v) = %q, want %q", tt.s, tt.candidates, got, tt.want)
		}
	}
}
