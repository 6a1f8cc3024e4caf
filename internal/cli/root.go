// Package cli wires pi's commands: flags -> options struct -> run function. It is the only
// package that knows cobra, and the one place that maps errors to exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/actions"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/safe"
)

// BuildInfo is stamped into the binary by the release build.
type BuildInfo struct {
	Version string
	Commit  string
	Date    string
}

// Factory holds what commands share. Expensive dependencies are functions, called only by
// the commands that need them, so start-up stays free of work (no database, no network).
type Factory struct {
	IO    *render.IOStreams
	Build BuildInfo
	// Getenv reads the environment (tests give their own).
	Getenv func(string) string
	// Browser opens pages for --web; nil is the system's (browser.go). Tests give their own.
	Browser Browser

	// Config reads the Pi API's settings (--base-url, --config, --insecure-http, the
	// environment, the config file), only for the commands that talk to the API. NewRootCmd
	// sets it from the global flags; nil reads the environment and the default file alone.
	Config func() (piapi.Config, []string, error)
	// Trace is where --debug traces HTTP requests: nil without --debug.
	Trace func() io.Writer

	jq *jqFilter
	// jqMaxOutput is what --jq may print; 0 is jqMaxOutput (tests lower it).
	jqMaxOutput int64

	// HandleSignals makes the commands that run or follow something (annotated
	// signalsAnnotation) turn SIGINT/SIGTERM into a cancelled context. Only Main sets it:
	// installing the handler costs a few milliseconds of start-up (a thread and a
	// goroutine), which `pi version` or `pi validate` should not pay.
	HandleSignals bool
	// Exits says the process ends when the command returns (only Main sets it): a local
	// run then leaves the runs database open instead of closing it, since closing folds
	// its write-ahead log into the file (a checkpoint: two fsyncs, 2-20 ms) on pi's way
	// out; a later write's automatic checkpoint does it, off a run's path.
	Exits       bool
	stopSignals func()
	// limiters pace the requests to each API origin: one limiter per origin for the
	// whole process, given to every client of it (api.go).
	limiters piapi.Limiters
}

// signalsAnnotation marks the commands that stop gracefully on Ctrl-C (exit 130).
const signalsAnnotation = "pi/signals"

// Main runs pi with the process's arguments and returns its exit code.
func Main(build BuildInfo) int {
	f := &Factory{IO: render.System(), Build: build, Getenv: os.Getenv, HandleSignals: true, Exits: true}
	code := Execute(context.Background(), f, os.Args[1:])
	// The steps' reaper, if a local run started one, is done before pi is (and its work
	// counted as pi's).
	actions.ShutdownReaper()
	return code
}

// Execute runs the root command with args and returns the exit code, printing the error
// (if any and not already printed) on stderr.
func Execute(ctx context.Context, f *Factory, args []string) int {
	root := newRootCmd(f, commandNamed(args))
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	// whatever happens (a panic included), a hidden cursor is shown again
	defer f.IO.RestoreTerminal()
	err := root.ExecuteContext(ctx)
	err = f.finishJQ(err)
	if f.stopSignals != nil {
		f.stopSignals()
	}
	if err != nil && !isSilent(err) {
		// The last word on any error: nothing that looks like a credential is shown.
		printError(f.IO.ErrOut, err)
		if errors.Is(err, errFlag) {
			fmt.Fprintf(f.IO.ErrOut, "run '%s --help' for usage\n", commandPath(root, args))
		}
	}
	return exitCode(err)
}

// printError is pi's last word on an error, on stderr: "error: " and the message, escaped
// (a server's or a file's text moves no cursor and starts no workflow command) and with
// nothing that looks like a credential.
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "error: %s\n", safe.Lines(safe.SecretsText(err.Error())))
}

func commandPath(root *cobra.Command, args []string) string {
	if c, _, err := root.Find(args); err == nil && c != nil {
		return c.CommandPath()
	}
	return root.Name()
}

// topCommands are pi's commands, each built by its own function: a command line that
// starts with one's name gets a tree of that command alone (commandNamed), since most of
// the whole tree's cost is the flags of the commands that do not run.
var topCommands = []struct {
	name  string
	build func(*Factory) *cobra.Command
}{
	{"run", func(f *Factory) *cobra.Command { return newRunCmd(f, nil) }},
	{"runs", newRunsCmd},
	{"cache", func(f *Factory) *cobra.Command { return newCacheCmd(f, nil) }},
	{"validate", newValidateCmd},
	{"schema", newSchemaCmd},
	{"graph", newGraphCmd},
	{"actions", newActionsCmd},
	{"serve", newServeCmd},
	{"version", func(f *Factory) *cobra.Command { return newVersionCmd(f, nil) }},
	{"init", func(f *Factory) *cobra.Command { return newInitCmd(f, nil) }},
	{"exit-codes", func(*Factory) *cobra.Command { return newExitCodesTopic() }},
}

// commandNamed is the top command args start with, or "" when they start with anything
// else (a flag, help, completion, an unknown word): those get the whole tree.
func commandNamed(args []string) string {
	if len(args) == 0 {
		return ""
	}
	for _, c := range topCommands {
		if c.name == args[0] {
			return c.name
		}
	}
	return ""
}

// NewRootCmd builds the whole command tree.
func NewRootCmd(f *Factory) *cobra.Command { return newRootCmd(f, "") }

// newRootCmd builds the root command with the top command named only, or with all of them
// ("").
func newRootCmd(f *Factory, only string) *cobra.Command {
	g := &globalFlags{}
	f.Config, f.Trace = g.config(f), g.trace(f)
	root := &cobra.Command{
		Use:   "pi <command>",
		Short: "Validate, run and follow Pi pipelines",
		Long: `pi turns Pi pipelines into files. A pipeline is a YAML file of steps
(brands.extract -> campaigns.generate -> campaigns.localize_ad, ...). pi validates it,
submits it to a Pi server's Runs API or executes it with its own DAG engine (--local),
and shows each step live until the run ends. The exit code says how it ended
(see 'pi help exit-codes').`,
		Example: `  pi validate campaign.yaml
  pi run campaign.yaml --sandbox
  pi run campaign.yaml -p url=https://example.com
  pi runs get 9f175af9-589b-44e8-86b9-1a434702245a --wait`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.noColor {
				f.IO.SetColorEnabled(false)
			}
			jq := cmd.Flags().Changed("jq")
			// A --jq filter may run without end whatever the command: Ctrl-C stops it too.
			if f.HandleSignals && (cmd.Annotations[signalsAnnotation] != "" || jq) {
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				cmd.SetContext(ctx)
				f.stopSignals = stop
			}
			if jq {
				// Checked and compiled before the command sends anything.
				ctx := cmd.Context()
				if ctx == nil {
					ctx = context.Background()
				}
				if err := f.startJQ(ctx, cmd, g.jq); err != nil {
					return err
				}
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return flagError{err} })
	g.bind(root.PersistentFlags())

	for _, c := range topCommands {
		if only == "" || c.name == only {
			root.AddCommand(c.build(f))
		}
	}
	registerCompletions(root, f)
	root.SetHelpCommand(newHelpCmd(root))
	root.InitDefaultHelpCmd()
	if only == "" {
		root.InitDefaultCompletionCmd()
	}
	refuseUnknown(root)
	// a help topic is read with 'pi help NAME' (cobra lists it as 'pi NAME')
	usage := strings.Replace(root.UsageTemplate(),
		`{{rpad .CommandPath .CommandPathPadding}} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableSubCommands}}`,
		`{{printf "pi help %s" .Name}}  {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableSubCommands}}`, 1)
	// a command group runs only to refuse unknown subcommands (unknown.go): its usage is
	// "pi runs [command]" alone
	usage = strings.Replace(usage, `Usage:{{if .Runnable}}`, `Usage:{{if and .Runnable (not .HasAvailableSubCommands)}}`, 1)
	root.SetUsageTemplate(usage)
	return root
}

// exactArgs is cobra.ExactArgs with a message that names what the command takes (from its
// Use line), as a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		if n == 0 {
			return flagError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
		}
		return flagError{fmt.Errorf("%s takes %d argument(s), %s; got %d", cmd.CommandPath(), n, argNames(cmd), len(args))}
	}
}

// minArgs is cobra.MinimumNArgs with a message that names what the command takes.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return flagError{fmt.Errorf("%s needs at least %d argument(s), %s", cmd.CommandPath(), n, argNames(cmd))}
	}
}

// argNames is the arguments part of a command's Use line ("FILE", "FILE..."), or "arguments".
func argNames(cmd *cobra.Command) string {
	if _, rest, ok := strings.Cut(cmd.Use, " "); ok {
		return rest
	}
	return "arguments"
}
