package cli

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// outputValues are the -o values of each command (by path without the root), for
// completion. A command with an -o flag missing here completes no value. (These tables are
// slices, not maps: a map literal is built at every pi start, completion or not.)
var outputValues = []struct {
	path   string
	values []string
}{
	{"run", []string{"table", "plain", "json", "jsonl"}},
	{"runs get", []string{"table", "plain", "json", "jsonl"}},
	{"runs list", []string{"table", "json", "jsonl"}},
	{"validate", []string{"table", "json"}},
	{"actions", []string{"table", "json"}},
	{"graph", []string{"text", "mermaid", "dot"}},
	{"runs download", []string{"table", "json"}},
}

// Commands whose positional arguments are run ids, and those that take pipeline files.
var (
	runIDArgs    = []string{"runs get", "runs download", "runs report", "runs rerun"}
	pipelineArgs = []string{"run", "validate", "graph"}
)

// maxCompletedRuns bounds the ids offered: the newest are the ones people mean.
const maxCompletedRuns = 50

// registerCompletions adds completion to the whole tree, so every command (also one added
// later, such as runs download) gets it from the tables above: run ids from the local
// records, -o and --format values, *.yaml/*.yml files for pipeline arguments.
func registerCompletions(root *cobra.Command, f *Factory) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), root.Name()), " ")
		for _, o := range outputValues {
			if o.path != path {
				continue
			}
			for _, name := range []string{"output", "format"} {
				if c.Flags().Lookup(name) != nil {
					_ = c.RegisterFlagCompletionFunc(name, fixedValues(o.values))
				}
			}
		}
		switch {
		case slices.Contains(runIDArgs, path):
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return completeRunIDs(cmd.Context(), f)
			}
		case slices.Contains(pipelineArgs, path):
			c.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
			}
		}
		if path == "run" {
			_ = c.RegisterFlagCompletionFunc("resume", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
				return completeRunIDsWhere(cmd.Context(), f, resumableRun)
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// outputFormats are the -o values of cmd (nil for a command missing from outputValues).
func outputFormats(cmd *cobra.Command) []string {
	path := strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()), " ")
	for _, o := range outputValues {
		if o.path == path {
			return o.values
		}
	}
	return nil
}

func fixedValues(vals []string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return vals, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}

// completeRunIDs offers the local runs, newest first, each described by its file and
// status ("interrupted" for one whose pi was killed). It never creates the database.
func completeRunIDs(ctx context.Context, f *Factory) ([]string, cobra.ShellCompDirective) {
	return completeRunIDsWhere(ctx, f, nil)
}

// resumableRun: a local run pi run --resume can continue (failed, cancelled, or whose pi
// was killed), so --resume does not offer completed runs.
func resumableRun(r store.RunSummary) bool {
	local := r.Place == "" || r.Place == store.PlaceLocal
	return local && (r.Status == run.Failed || r.Status == run.Cancelled || interruptedRun(r))
}

// completeRunIDsWhere is completeRunIDs of the runs keep accepts (nil: all).
func completeRunIDsWhere(ctx context.Context, f *Factory, keep func(store.RunSummary) bool) ([]string, cobra.ShellCompDirective) {
	dir := cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	path, err := store.DefaultPath(f.Getenv)
	if err != nil {
		return nil, dir
	}
	if _, err := os.Stat(path); err != nil {
		return nil, dir
	}
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, dir
	}
	defer st.Close()
	// With keep, every run is looked at (the newest maxCompletedRuns kept ones are offered):
	// a failed run behind 50 completed ones is still the one --resume wants.
	limit := maxCompletedRuns
	if keep != nil {
		limit = 0
	}
	runs, err := st.ListWhere(ctx, store.Filter{Limit: limit})
	if err != nil {
		return nil, dir
	}
	out := make([]string, 0, min(len(runs), maxCompletedRuns))
	for _, r := range runs {
		if keep != nil && !keep(r) {
			continue
		}
		if len(out) == maxCompletedRuns {
			break
		}
		status := string(r.Status)
		if interruptedRun(r) {
			status = "interrupted"
		}
		// a tab separates the value from its description; a file name with a tab or a
		// newline must not break the protocol
		file := strings.NewReplacer("\t", " ", "\n", " ").Replace(r.File)
		out = append(out, fmt.Sprintf("%s\t%s %s (%s)", r.ID, file, status, placeOf(r.Where)))
	}
	return out, dir
}
