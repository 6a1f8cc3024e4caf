package cli

import (
	"context"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pi-cli/pi/internal/sandbox"
)

// scriptCommands are the extra commands testdata/script/*.txtar may use.
func scriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){}
	for name, cmd := range serveScriptCommands() {
		cmds[name] = cmd
	}
	for name, cmd := range localScriptCommands() {
		cmds[name] = cmd
	}
	cmds["sandbox"] = sandboxCmd
	return cmds
}

// sandboxCmd starts the simulated Pi API in-process for the script ("sandbox [latency]")
// and points PI_BASE_URL/PI_API_KEY at it; it stops when the script ends.
func sandboxCmd(ts *testscript.TestScript, neg bool, args []string) {
	latency := 20 * time.Millisecond
	if len(args) > 0 {
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		latency = d
	}
	inst, err := sandbox.Start(context.Background(), sandbox.Options{Latency: latency, DBPath: ":memory:"})
	ts.Check(err)
	ts.Defer(func() { inst.Close() })
	ts.Setenv("PI_BASE_URL", inst.URL)
	ts.Setenv("PI_API_KEY", inst.APIKey)
}
