package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/buildinfo"
	"github.com/pi-cli/pi/internal/render"
)

// versionOptions is `pi version`.
type versionOptions struct {
	IO    *render.IOStreams
	Build BuildInfo
}

func newVersionCmd(f *Factory, runF func(*versionOptions) error) *cobra.Command {
	o := &versionOptions{IO: f.IO, Build: f.Build}
	return &cobra.Command{
		Use:   "version",
		Short: "Print pi's version, commit and build date",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			_, err := fmt.Fprintln(o.IO.Out, versionLine(o.Build))
			return err
		},
	}
}

// versionLine is `pi version`'s line (buildinfo.Line); a build that was not stamped (a
// plain go build) takes its commit and date from the VCS stamp when there is one.
func versionLine(b BuildInfo) string {
	commit, date := b.Commit, b.Date
	if commit == "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = s.Value
				case "vcs.time":
					if date == "" {
						date = s.Value
					}
				}
			}
		}
	}
	return buildinfo.Line(b.Version, commit, date)
}

// UserAgent is the User-Agent of every request pi makes.
func (b BuildInfo) UserAgent() string {
	v := b.Version
	if v == "" {
		v = "dev"
	}
	return fmt.Sprintf("pi/%s (%s/%s)", v, runtime.GOOS, runtime.GOARCH)
}
