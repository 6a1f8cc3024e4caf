// Command floor-required links only the libraries pi may not do without (cobra, yaml.v3,
// lipgloss, spinner, the modernc SQLite driver) and then does nothing: BenchmarkStartup runs
// it to show what their package initialisation costs, apart from everything else pi links
// (gojq, net/http, crypto/tls, html/template, ...) and pi's own work.
package main

import (
	"os"

	_ "github.com/briandowns/spinner"
	_ "github.com/charmbracelet/lipgloss"
	_ "github.com/spf13/cobra"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)

func main() { os.Stdout.WriteString("floor\n") }
