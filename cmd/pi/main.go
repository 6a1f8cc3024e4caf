// Command pi validates, runs and follows Pi pipelines.
package main

import (
	"os"

	"github.com/pi-cli/pi/internal/cli"
)

// Set by the release build through -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	os.Exit(cli.Main(cli.BuildInfo{Version: version, Commit: commit, Date: date}))
}
