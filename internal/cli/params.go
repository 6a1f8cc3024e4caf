package cli

import (
	"strings"

	"github.com/pi-cli/pi/internal/pipeline"
)

// parseParamFlags reads repeated `-p NAME=VALUE` flags into a map. The value may be empty
// and may contain '='; the last of repeated names wins. A malformed flag is a usage error.
func parseParamFlags(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(flags))
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if !ok {
			return nil, UsageErrorf("-p %s: expected NAME=VALUE (for example -p url=https://example.com)", f)
		}
		if !pipeline.ValidParamName(name) {
			return nil, UsageErrorf("-p %s: %q is not a param name: use letters, digits, _ and -, starting with a letter or _", f, name)
		}
		out[name] = value
	}
	return out, nil
}
