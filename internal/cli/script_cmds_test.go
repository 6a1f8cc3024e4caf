package cli

import "github.com/rogpeppe/go-internal/testscript"

// scriptCommands are the extra commands testdata/script/*.txtar may use.
func scriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){}
	for name, cmd := range serveScriptCommands() {
		cmds[name] = cmd
	}
	for name, cmd := range localScriptCommands() {
		cmds[name] = cmd
	}
	return cmds
}
