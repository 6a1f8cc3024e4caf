package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// refuseUnknown makes every command of the tree answer an unknown subcommand or argument
// with a usage error (exit 2) and its suggestions, as a script needs: cobra prints a
// command group's help and exits 0 for `pi runs cancel ID`, and returns argument errors
// that would exit 1. Run once, after the tree and cobra's own help and completion
// commands exist.
func refuseUnknown(root *cobra.Command) {
	root.DisableSuggestions = true // suggestions are ours: unknownCommand
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && !c.Runnable() {
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 {
					return cmd.Help()
				}
				return unknownCommand(cmd, args[0])
			}
			c.ValidArgsFunction = cobra.NoFileCompletions
		}
		if args := c.Args; args != nil {
			c.Args = func(cmd *cobra.Command, a []string) error {
				if err := args(cmd, a); err != nil && !errors.Is(err, errFlag) {
					return flagError{err}
				} else if err != nil {
					return err
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// unknownCommand is the usage error for `pi PARENT NAME` when PARENT has no NAME, with the
// subcommands NAME is close to.
func unknownCommand(parent *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, parent.CommandPath())
	parent.SuggestionsMinimumDistance = 2
	if s := parent.SuggestionsFor(name); len(s) > 0 {
		// indented with spaces: a tab would be escaped when the error is printed
		msg += "\n\nDid you mean this?\n  " + strings.Join(s, "\n  ")
	} else if names := subcommandNames(parent); len(names) > 0 {
		msg += "\n\n" + parent.CommandPath() + " has: " + strings.Join(names, ", ")
	}
	return flagError{errors.New(msg)}
}

func subcommandNames(c *cobra.Command) []string {
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return names
}

// newHelpCmd is `pi help [COMMAND]`: cobra's own prints the root's help and exits 0 for a
// topic it does not know.
func newHelpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help provides help for any command in the application.\nSimply type pi help [path to command] for full details.",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			cmd, _, err := root.Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []string
			for _, sub := range cmd.Commands() {
				if (sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand()) && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, sub.Name()+"\t"+sub.Short)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil {
				return unknownCommand(root, args[0])
			}
			if len(rest) > 0 {
				return unknownCommand(cmd, rest[0])
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}

// maxArgs is cobra.MaximumNArgs with a message that names what the command takes.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= n {
			return nil
		}
		return flagError{fmt.Errorf("%s takes at most %d argument(s), %s; got %d", cmd.CommandPath(), n, argNames(cmd), len(args))}
	}
}
