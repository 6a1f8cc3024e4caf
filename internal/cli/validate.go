package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newValidateCmd is a placeholder until its issue lands.
func newValidateCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check pipeline files without running anything",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("not implemented yet")
		},
	}
}
