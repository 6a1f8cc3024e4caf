package cli

import "github.com/spf13/cobra"

func newRunsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs <command>",
		Short: "Show runs: remote ones by id, local ones from this machine's records",
	}
	cmd.AddCommand(newRunsGetCmd(f, nil), newRunsListCmd(f, nil), newRunsDownloadCmd(f, nil), newRunsReportCmd(f, nil), newRunsRerunCmd(f, nil))
	return cmd
}
