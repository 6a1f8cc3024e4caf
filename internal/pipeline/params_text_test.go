package pipeline

import (
	"strings"
	"testing"
)

// TestOverrideOfAnotherTypeShowsTheDefault: the default is written as a value one could
// give back (JSON), not as Go prints a slice or a map.
func TestOverrideOfAnotherTypeShowsTheDefault(t *testing.T) {
	for _, tt := range []struct {
		def  any
		want string
	}{
		{[]any{"French urban premium", "German minimalist"}, `["French urban premium","German minimalist"]`},
		{map[string]any{"culture": "fr"}, `{"culture":"fr"}`},
	} {
		_, err := overrideValue("markets", "French", tt.def)
		if err == nil || !strings.Contains(err.Error(), "the default of markets is "+tt.want+" (") || strings.Contains(err.Error(), "map[") {
			t.Errorf("%v: %v", tt.def, err)
		}
	}
}
