package cli

import (
	"encoding/json"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// localScriptCommands: `runid FILE VAR` sets $VAR to the run_id of FILE's first line (the
// first line of `pi run --local -o jsonl`), so a script can resume that run.
func localScriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"runid": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: runid FILE VAR")
			}
			first, _, _ := strings.Cut(ts.ReadFile(args[0]), "\n")
			var v struct {
				RunID string `json:"run_id"`
			}
			if err := json.Unmarshal([]byte(first), &v); err != nil || v.RunID == "" {
				ts.Fatalf("%s: first line %q has no run_id (%v)", args[0], first, err)
			}
			ts.Setenv(args[1], v.RunID)
		},
	}
}
