package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// commandPaths lists every command of the tree a user can type, as argument lists.
func commandPaths(t *testing.T) [][]string {
	t.Helper()
	f, _, _ := testFactory()
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			// a help topic is read with pi help NAME (TestUnknownCommandSuggests)
			if sub.Hidden || sub.Deprecated != "" || sub.IsAdditionalHelpTopicCommand() || sub.Name() == cobra.ShellCompRequestCmd {
				continue
			}
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(NewRootCmd(f), nil)
	if len(paths) < 10 {
		t.Fatalf("the tree has only %d commands", len(paths))
	}
	return paths
}

// TestUnknownArgumentsEverywhere walks the whole command tree: an unknown subcommand, too
// many arguments or an unknown flag is a usage error (exit 2) on every command, said on
// stderr with nothing on stdout, never help and exit 0. Nothing is run: the tree is
// refused before any command starts.
func TestUnknownArgumentsEverywhere(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, path := range commandPaths(t) {
		for _, extra := range [][]string{
			{"zz-unknown", "zz2", "zz3", "zz4", "zz5"},
			{"--zz-no-such-flag"},
		} {
			args := append(append([]string{}, path...), extra...)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				f, out, errOut := testFactory()
				code := Execute(context.Background(), f, args)
				if code != ExitUsage {
					t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, ExitUsage, out, errOut)
				}
				if out.Len() != 0 {
					t.Errorf("stdout = %q, want nothing", out)
				}
				if errOut.Len() == 0 || strings.Contains(errOut.String(), `\t`) {
					t.Errorf("stderr:\n%s", errOut)
				}
			})
		}
	}
}

func TestUnknownCommandSuggests(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"rnu"}, "error: unknown command \"rnu\" for \"pi\"\n\nDid you mean this?\n  run\n  runs\nrun 'pi --help' for usage\n"},
		{[]string{"runs", "lsit"}, "error: unknown command \"lsit\" for \"pi runs\"\n\nDid you mean this?\n  list\nrun 'pi runs --help' for usage\n"},
		{[]string{"runs", "cancel", "9f175af9"}, "error: unknown command \"cancel\" for \"pi runs\"\n\npi runs has: download, get, list, report, rerun\nrun 'pi runs --help' for usage\n"},
		{[]string{"completion", "zshh"}, "Did you mean this?\n  zsh\n"},
		{[]string{"help", "runs", "lsit"}, "error: unknown command \"lsit\" for \"pi runs\"\n\nDid you mean this?\n  list\n"},
		{[]string{"help", "valdate"}, "Did you mean this?\n  validate\n"},
		{[]string{"help", "exit-codes", "zz"}, "error: unknown command \"zz\" for \"pi exit-codes\"\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, out, errOut := testFactory()
			if code := Execute(context.Background(), f, tt.args); code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(errOut.String(), tt.want) || out.Len() != 0 {
				t.Errorf("stderr:\n%s\nwant it to hold:\n%s", errOut, tt.want)
			}
		})
	}
}

// TestGroupsAloneShowHelp: a command group without a subcommand still prints its help and
// exits 0, as `pi help GROUP` does.
func TestGroupsAloneShowHelp(t *testing.T) {
	for _, args := range [][]string{{"runs"}, {"help", "runs"}, {"completion"}, {}, {"help", "exit-codes"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			f, out, errOut := testFactory()
			if code := Execute(context.Background(), f, args); code != ExitOK {
				t.Errorf("exit %d\n%s", code, errOut)
			}
			if !strings.Contains(out.String(), "pi") || strings.Contains(out.String(), "[flags]\n  pi runs [command]") {
				t.Errorf("help:\n%s", out)
			}
		})
	}
}
