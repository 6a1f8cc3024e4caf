package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newSchemaCmd is a placeholder until its issue lands.
func newSchemaCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the pipeline file",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("not implemented yet")
		},
	}
}
