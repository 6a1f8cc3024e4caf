package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run `pi` as a command of this test binary, in-process builds
// included, so scripts exercise the real main path: flags, output and exit codes.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"pi": func() { os.Exit(Main(BuildInfo{Version: "v0.0.0-test", Commit: "abc123", Date: "2026-11-28"})) },
	})
}

// TestScripts runs testdata/script/*.txtar: end-to-end CLI tests, offline.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// Every script starts with no configuration, no colour and its own state.
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, ".state"))
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache"))
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("PI_BASE_URL", "")
			env.Setenv("PI_API_KEY", "")
			env.Setenv("GITHUB_ACTIONS", "")
			env.Setenv("PIPELINES", filepath.Join(env.Cd, "..", "..", "..", "testdata", "pipelines"))
			return nil
		},
		Cmds: scriptCommands(),
	})
}
