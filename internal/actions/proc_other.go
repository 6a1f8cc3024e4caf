//go:build !unix

package actions

import (
	"errors"
	"os/exec"
)

// procTree on platforms without POSIX process groups (Windows): the command itself is
// killed; children it started are not tracked.
type procTree struct{}

func newProcTree() (*procTree, error) { return &procTree{}, nil }

func (t *procTree) command(path string, argv []string) *exec.Cmd {
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	return cmd
}

func (t *procTree) markEnv() string { return "PI_STEP_TREE=1" }

func (t *procTree) start(cmd *exec.Cmd) error { return cmd.Start() }

func (t *procTree) kill(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

func (t *procTree) release() {}

// ShutdownReaper: there is no reaper where there are no process groups.
func ShutdownReaper() {}

// errReaper: no reaper, no such failure.
var errReaper = errors.New("cannot start the step reaper")
