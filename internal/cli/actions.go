package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newActionsCmd is a placeholder until its issue lands.
func newActionsCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "actions",
		Short: "List the actions a pipeline can use",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("not implemented yet")
		},
	}
}
