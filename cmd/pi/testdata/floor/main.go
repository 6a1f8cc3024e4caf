// Command floor links every package pi links and then does nothing: BenchmarkStartup runs it
// to show what the libraries' package initialisation alone costs, apart from pi's own work.
package main

import (
	"os"

	_ "github.com/pi-cli/pi/internal/cli"
)

func main() { os.Stdout.WriteString("floor\n") }
