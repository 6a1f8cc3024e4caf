package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// cleanupAfter removes what tests built once per process (piBinary) after they ran.
type cleanupAfter struct{ m *testing.M }

func (c cleanupAfter) Run() int {
	code := c.m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	return code
}

// TestMain lets testscript run `pi` as a command of this test binary, in-process builds
// included, so scripts exercise the real main path: flags, output and exit codes.
func TestMain(m *testing.M) {
	testscript.Main(cleanupAfter{m}, map[string]func(){
		"pi": func() {
			build := BuildInfo{Version: "v0.0.0-test", Commit: "abc123", Date: "2026-11-28"}
			os.Exit(guardKey(os.Getenv("PI_API_KEY"), func() int { return Main(build) }))
		},
	})
}

// guardKey runs main with stdout and stderr scanned for the API key: every script checks,
// without saying so, that pi never prints the key (in any output mode, error or --debug).
// A leak fails the command with exit 99 and a message the script cannot expect.
func guardKey(key string, main func() int) int {
	if len(key) < 8 {
		return main()
	}
	realOut, realErr := os.Stdout, os.Stderr
	leaked := make(chan bool, 2)
	wrap := func(dst *os.File) (*os.File, func()) {
		r, w, err := os.Pipe()
		if err != nil {
			panic(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			b, _ := io.ReadAll(r)
			leaked <- bytes.Contains(b, []byte(key))
			dst.Write(b)
		}()
		return w, func() { w.Close(); <-done }
	}
	var waitOut, waitErr func()
	os.Stdout, waitOut = wrap(realOut)
	os.Stderr, waitErr = wrap(realErr)
	code := main()
	waitOut()
	waitErr()
	outLeaked, errLeaked := <-leaked, <-leaked
	if outLeaked || errLeaked {
		fmt.Fprintln(realErr, "TEST FAILURE: the API key appeared in pi's output")
		return 99
	}
	return code
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
			// The test runs in internal/cli; env.Cd is the script's temporary directory.
			pipelines, err := filepath.Abs(filepath.Join("..", "..", "testdata", "pipelines"))
			if err != nil {
				return err
			}
			env.Setenv("PIPELINES", pipelines)
			return nil
		},
		Cmds: scriptCommands(),
	})
}
