package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/safe"
)

type graphOptions struct {
	IO     *render.IOStreams
	File   string
	Format string            // text | mermaid | dot
	Params map[string]string // -p overrides (a matrix may take its values from a param)
}

func newGraphCmd(f *Factory) *cobra.Command { return newGraphCmdWith(f, nil) }

// newGraphCmdWith builds `pi graph`; runF replaces the run function in tests.
func newGraphCmdWith(f *Factory, runF func(*graphOptions) error) *cobra.Command {
	opts := &graphOptions{IO: f.IO}
	var params []string
	cmd := &cobra.Command{
		Use:   "graph FILE",
		Short: "Draw a pipeline's DAG",
		Long: `Draw the steps of a pipeline and their dependencies.

text (the default) lists the steps by layer: layer 1 has the steps without
dependencies, each next layer the steps whose dependencies are all above it; steps of
one layer can run at the same time. mermaid and dot print the graph for documentation
(GitHub renders mermaid blocks; 'dot -Tsvg' renders dot).

Matrix steps are drawn as the steps they expand to (-p changes a matrix that takes its
values from a param). The file is checked as with 'pi validate --local': when its only
errors are in step inputs (a bad enum value, a missing input) the graph is drawn and the
errors printed as warnings; any other error is printed and the exit status is 2.`,
		Example: `  pi graph campaign.yaml
  pi graph campaign.yaml -o mermaid
  pi graph campaign.yaml -o dot | dot -Tsvg > campaign.svg`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if cmd.Flags().Changed("output") && cmd.Flags().Changed("format") {
				return UsageErrorf("-o and --format are the same flag: give one")
			}
			switch opts.Format {
			case "text", "mermaid", "dot":
			default:
				return UsageErrorf("-o %q: use text, mermaid or dot", opts.Format)
			}
			var err error
			if opts.Params, err = parseParamFlags(params); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runGraph(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "output", "o", "text", "output format: text, mermaid or dot")
	// --format is the older name of -o, kept so scripts keep working
	cmd.Flags().StringVar(&opts.Format, "format", "text", "the same as -o")
	_ = cmd.Flags().MarkHidden("format")
	cmd.Flags().StringArrayVarP(&params, "param", "p", nil, "override a param: `NAME=VALUE` (repeatable)")
	return cmd
}

func runGraph(opts *graphOptions) error {
	// matrix steps are drawn as the steps they become
	// A file whose only errors are in its steps' inputs (a bad enum value, a missing
	// input) still has a graph: it is drawn, and its errors are shown as warnings first.
	p, _, ds, err := pipeline.Load(opts.File, pipeline.Options{Mode: pipeline.Local, Params: opts.Params, Stdin: opts.IO.In, Drawable: true})
	if err != nil {
		return UsageErrorf("%s: %s", opts.File, readProblem(err))
	}
	if p == nil {
		printDiagnostics(opts.IO, ds.Errors())
		return SilentExit(ExitUsage)
	}
	if errs := ds.Errors(); len(errs) > 0 {
		for i := range errs {
			errs[i].Severity = pipeline.Warning
		}
		printDiagnostics(opts.IO, errs)
		fmt.Fprintf(opts.IO.ErrOut, "%s: %s in step inputs: the graph is drawn, pi run refuses the file\n",
			safe.Text(p.Name), plural(len(errs), "error"))
	}
	var out string
	switch opts.Format {
	case "mermaid":
		out = graphMermaid(p)
	case "dot":
		out = graphDot(p)
	default:
		out = graphText(p)
	}
	_, err = fmt.Fprint(opts.IO.Out, out)
	return err
}

// graphText lists steps by layer, ids and actions aligned, each with what it waits for.
func graphText(p *pipeline.Pipeline) string {
	layers := p.Graph().Layers()
	idW, actW := 0, 0
	for _, s := range p.Steps {
		idW = max(idW, len(s.ID))
		actW = max(actW, len(s.Action))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s in %s%s\n", p.Name, plural(len(p.Steps), "step"), plural(len(layers), "layer"), strings.Replace(matricesSuffix(p), " after", ", after", 1))
	for i, layer := range layers {
		fmt.Fprintf(&b, "\nlayer %d\n", i+1)
		for _, k := range layer {
			s := &p.Steps[k]
			line := fmt.Sprintf("  %-*s  %-*s", idW, s.ID, actW, s.Action)
			if len(s.DependsOn) > 0 {
				line += "  <- " + strings.Join(s.DependsOn, ", ")
			}
			b.WriteString(strings.TrimRight(line, " ") + "\n")
		}
	}
	return b.String()
}

// graphMermaid is a mermaid flowchart; nodes get generated names because step ids may hold
// characters mermaid does not accept.
func graphMermaid(p *pipeline.Pipeline) string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	node := map[string]string{}
	for i, s := range p.Steps {
		node[s.ID] = "s" + strconv.Itoa(i)
		indent := "  "
		if o := s.Origin; o != nil { // the expansions of a matrix step in one box
			indent = "    "
			if o.Index == 1 {
				fmt.Fprintf(&b, "  subgraph m%d[\"%s (matrix)\"]\n", i, strings.ReplaceAll(o.Template, `"`, "#quot;"))
			}
		}
		label := strings.ReplaceAll(s.ID, `"`, "#quot;") + "<br/><small>" + s.Action + "</small>"
		fmt.Fprintf(&b, "%s%s[\"%s\"]\n", indent, node[s.ID], label)
		if o := s.Origin; o != nil && o.Index == o.Count {
			b.WriteString("  end\n")
		}
	}
	for _, s := range p.Steps {
		for _, dep := range s.DependsOn {
			fmt.Fprintf(&b, "  %s --> %s\n", node[dep], node[s.ID])
		}
	}
	return b.String()
}

// graphDot is a Graphviz digraph, edges from a dependency to its dependent.
func graphDot(p *pipeline.Pipeline) string {
	var b strings.Builder
	b.WriteString("digraph pipeline {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n")
	for _, s := range p.Steps {
		indent := "  "
		if o := s.Origin; o != nil { // the expansions of a matrix step in one cluster
			indent = "    "
			if o.Index == 1 {
				fmt.Fprintf(&b, "  subgraph %s {\n    label=%s;\n    style=dashed;\n", strconv.Quote("cluster_"+o.Template), strconv.Quote(o.Template+" (matrix)"))
			}
		}
		fmt.Fprintf(&b, "%s%s [label=%s];\n", indent, strconv.Quote(s.ID), strconv.Quote(s.ID+"\n"+s.Action))
		if o := s.Origin; o != nil && o.Index == o.Count {
			b.WriteString("  }\n")
		}
	}
	for _, s := range p.Steps {
		for _, dep := range s.DependsOn {
			fmt.Fprintf(&b, "  %s -> %s;\n", strconv.Quote(dep), strconv.Quote(s.ID))
		}
	}
	b.WriteString("}\n")
	return b.String()
}
