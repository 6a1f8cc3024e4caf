package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newRunsListCmd is a placeholder until its issue lands.
func newRunsListCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the local runs this machine recorded",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("not implemented yet")
		},
	}
}
