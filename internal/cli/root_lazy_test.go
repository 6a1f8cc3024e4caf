package cli

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// topCommands names every command of the whole tree (but cobra's help and completion),
// each with the name its command has.
func TestTopCommandsAreTheTree(t *testing.T) {
	f, _, _ := testFactory()
	var names []string
	for _, c := range NewRootCmd(f).Commands() {
		if c.Name() != "help" && c.Name() != "completion" {
			names = append(names, c.Name())
		}
	}
	var listed []string
	for _, c := range topCommands {
		if got := c.build(f).Name(); got != c.name {
			t.Errorf("topCommands names %q a command named %q", c.name, got)
		}
		listed = append(listed, c.name)
	}
	slices.Sort(names)
	slices.Sort(listed)
	if !slices.Equal(names, listed) {
		t.Errorf("the tree's commands %q, topCommands %q", names, listed)
	}
}

// A command line that names a top command gets a tree of it alone: every command's help,
// and every refusal of a bad command line, reads as with the whole tree.
func TestOneCommandTreeReadsAsTheWhole(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, path := range commandPaths(t) {
		if len(path) == 0 || commandNamed(path) == "" {
			continue
		}
		for _, extra := range [][]string{{"--help"}, {"--zz-no-such-flag"}, {"zz-unknown", "zz2", "zz3", "zz4", "zz5"}} {
			args := append(append([]string{}, path...), extra...)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				whole := runTree(t, NewRootCmd, args)
				one := runTree(t, func(f *Factory) *cobra.Command { return newRootCmd(f, commandNamed(args)) }, args)
				if whole != one {
					t.Errorf("with the whole tree:\n%s\nwith %q alone:\n%s", whole, path[0], one)
				}
			})
		}
	}
}

// runTree runs args on the tree build makes, as Execute does, and returns what it printed
// and its exit code.
func runTree(t *testing.T, build func(*Factory) *cobra.Command, args []string) string {
	t.Helper()
	f, out, errOut := testFactory()
	root := build(f)
	root.SetArgs(args)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := root.ExecuteContext(context.Background())
	return "stdout:\n" + out.String() + "stderr:\n" + errOut.String() + "error: " + errString(err)
}

func errString(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}
