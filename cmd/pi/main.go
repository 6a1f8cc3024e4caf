// Command pi validates, runs and follows Pi pipelines.
package main

import (
	"os"

	"github.com/pi-cli/pi/internal/buildinfo"
	"github.com/pi-cli/pi/internal/cli"
)

func main() {
	v, c, d := buildinfo.Stamp()
	os.Exit(cli.Main(cli.BuildInfo{Version: v, Commit: c, Date: d}))
}
