package cli

import "github.com/rogpeppe/go-internal/testscript"

// scriptCommands are the extra commands testdata/script/*.txtar may use.
func scriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){}
}
