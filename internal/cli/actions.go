package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/render"
)

type actionsOptions struct {
	IO     *render.IOStreams
	Name   string // one action to show in full; "" lists them all
	Output string // table | json
}

func newActionsCmd(f *Factory) *cobra.Command { return newActionsCmdWith(f, nil) }

// newActionsCmdWith builds `pi actions`; runF replaces the run function in tests.
func newActionsCmdWith(f *Factory, runF func(*actionsOptions) error) *cobra.Command {
	opts := &actionsOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "actions [NAME]",
		Short: "List the actions a pipeline can use",
		Long: `List the actions a step can use: where each runs (the Runs API and the local engine,
or only the local engine with 'pi run --local'), its required and optional inputs, its
one-of groups and the fields of its result (what input_map can take:
$steps.<id>.result.<field>).

With NAME, one action in full: each input with its rules and description, and each
result field.`,
		Example: `  pi actions
  pi actions campaigns.localize_ad
  pi actions -o json | jq '.[] | select(.runs == "local") | .name'`,
		Args: maxArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, a := range catalog.All() {
				names = append(names, a.Name+"\t"+firstSentence(a.Description))
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
				if _, ok := catalog.Lookup(opts.Name); !ok {
					return unknownAction(opts.Name)
				}
			}
			if opts.Output != "table" && opts.Output != "json" {
				return UsageErrorf("--output %q: use table or json", opts.Output)
			}
			if runF != nil {
				return runF(opts)
			}
			return runActions(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table or json")
	return cmd
}

// actionJSON is the `pi actions -o json` form of one action, generated from the catalog.
type actionJSON struct {
	Name           string      `json:"name"`
	Description    string      `json:"description"`
	Runs           string      `json:"runs"` // "server, local" or "local"
	Endpoint       string      `json:"endpoint,omitempty"`
	JobType        string      `json:"job_type,omitempty"`
	Idempotent     bool        `json:"idempotent,omitempty"` // honours Idempotency-Key
	Required       []string    `json:"required"`
	OneOf          [][]string  `json:"one_of"`       // exactly one of each group
	AtLeastOneOf   [][]string  `json:"at_least_one"` // at least one of each group
	Optional       []string    `json:"optional"`
	Inputs         []inputJSON `json:"inputs"`
	ResultFields   []string    `json:"result_fields"`
	Result         []fieldJSON `json:"result"`
	SourceJobTypes []string    `json:"source_job_types,omitempty"`
}

type inputJSON struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Required    bool   `json:"required"`
	Rules       string `json:"rules"`
	Description string `json:"description"`
}

type fieldJSON struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Nullable bool   `json:"nullable"`
}

func actionToJSON(a *catalog.Action) actionJSON {
	out := actionJSON{
		Name: a.Name, Description: a.Description, Runs: a.Runs(), Endpoint: a.Endpoint, JobType: a.JobType,
		Idempotent: a.Idempotent, Required: nonNil(a.Required()), OneOf: [][]string{}, AtLeastOneOf: [][]string{},
		Optional: nonNil(a.Optional()), ResultFields: nonNil(a.ResultNames()), SourceJobTypes: a.SourceJobTypes,
	}
	for _, g := range a.Groups {
		if g.Exactly {
			out.OneOf = append(out.OneOf, g.Inputs)
		} else {
			out.AtLeastOneOf = append(out.AtLeastOneOf, g.Inputs)
		}
	}
	for i := range a.Inputs {
		in := &a.Inputs[i]
		out.Inputs = append(out.Inputs, inputJSON{Name: in.Name, Kind: string(in.Kind), Required: in.Required,
			Rules: catalog.Rules(in), Description: in.Description})
	}
	for _, f := range a.Result {
		out.Result = append(out.Result, fieldJSON{Name: f.Name, Kind: string(f.Kind), Nullable: f.Nullable})
	}
	return out
}

func runActions(opts *actionsOptions) error {
	if opts.Name != "" {
		a, _ := catalog.Lookup(opts.Name)
		if opts.Output == "json" {
			return writeIndentedJSON(opts.IO.Out, actionToJSON(a))
		}
		width := actionsWidth
		if w := opts.IO.StdoutWidth(); w > 0 {
			width = min(w, actionsWidth)
		}
		_, err := fmt.Fprint(opts.IO.Out, showAction(a, width))
		return err
	}
	actions := catalog.All()
	if opts.Output == "json" {
		out := make([]actionJSON, 0, len(actions))
		for _, a := range actions {
			out = append(out, actionToJSON(a))
		}
		return writeIndentedJSON(opts.IO.Out, out)
	}
	lines, wide, err := actionsTable(actions)
	if err != nil {
		return err
	}
	if w := opts.IO.StdoutWidth(); w > 0 && wide > w {
		// a terminal too narrow for the table: one line per action rather than a table
		// whose every row wraps
		_, err := fmt.Fprint(opts.IO.Out, compactActions(w))
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, strings.Join(lines, "\n"))
	return err
}

// writeIndentedJSON writes v as indented JSON.
func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// actionsTable is the table of pi actions: one row per action, one input per line inside
// a row, so the table stays narrow; its lines without trailing blanks, and the widest.
func actionsTable(actions []*catalog.Action) (lines []string, wide int, err error) {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tRUNS\tREQUIRED\tOPTIONAL\tRESULT")
	for i, a := range actions {
		if i > 0 {
			fmt.Fprintln(tw, "\t\t\t\t")
		}
		writeActionRow(tw, [][]string{{a.Name}, {a.Runs()}, requiredLines(a), a.Optional(), a.ResultNames()})
	}
	if err := tw.Flush(); err != nil {
		return nil, 0, err
	}
	// tabwriter pads the last column too; trailing blanks only get in the way of diffs.
	lines = strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
		wide = max(wide, len([]rune(lines[i])))
	}
	return lines, wide, nil
}

// requiredLines are an action's required inputs, then its groups ("one of:", "at least
// one of:") with their inputs indented.
func requiredLines(a *catalog.Action) []string {
	required := a.Required()
	for _, g := range a.Groups {
		if !g.Exactly {
			required = append(required, "at least one of:")
		} else {
			required = append(required, "one of:")
		}
		for _, k := range g.Inputs {
			required = append(required, "  "+k)
		}
	}
	return required
}

// writeActionRow writes one action's columns side by side, as many lines as its longest.
func writeActionRow(w io.Writer, cols [][]string) {
	rows := 0
	for _, c := range cols {
		rows = max(rows, len(c))
	}
	for r := 0; r < rows; r++ {
		cells := make([]string, len(cols))
		for c := range cols {
			if r < len(cols[c]) {
				cells[c] = cols[c][r]
			}
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
