package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
)

type schemaOptions struct {
	IO *render.IOStreams
}

func newSchemaCmd(f *Factory) *cobra.Command { return newSchemaCmdWith(f, nil) }

// newSchemaCmdWith builds `pi schema`; runF replaces the run function in tests.
func newSchemaCmdWith(f *Factory, runF func(*schemaOptions) error) *cobra.Command {
	opts := &schemaOptions{IO: f.IO}
	return &cobra.Command{
		Annotations: map[string]string{jsonAnnotation: "always"},
		Use:         "schema",
		Short:       "Print the JSON Schema of the pipeline file",
		Long: `Print the JSON Schema (draft 2020-12) of the pipeline file, with a description of every
field, for editors: save it and point the YAML language server at it with a modeline on
the first line of a pipeline file. The schema checks the form (keys, types, action
names, the input_map grammar); 'pi validate' checks everything.`,
		Example: `  pi schema > pi-pipeline.schema.json

  # then, first line of campaign.yaml (VS Code, Neovim, Helix... with yaml-language-server):
  # yaml-language-server: $schema=./pi-pipeline.schema.json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runSchema(opts)
		},
	}
}

func runSchema(opts *schemaOptions) error {
	if _, err := opts.IO.Out.Write(pipeline.Schema()); err != nil {
		return fmt.Errorf("write schema: %w", err)
	}
	return nil
}
