// Package buildinfo is pi's version, commit and build date, which the release build stamps
// into the binary (-ldflags "-X github.com/pi-cli/pi/internal/buildinfo.version=..."), and
// the one line `pi version` prints.
//
// A stamped binary answers `pi version` in this package's init, before Go initialises pi's
// libraries (cobra, yaml.v3, lipgloss, SQLite, gojq, net/http) and pi's other packages,
// none of which printing three strings needs: as internal/reaper's doc explains, Go
// initialises a package once its imports are, the first in import-path order among those
// ready, so this package imports only os and runtime. `pi version` then costs about 1.3 x
// the smallest Go program instead of 2.4 x (docs/performance.md). An unstamped build (go
// build, go install) looks its commit up in the VCS stamp, which takes runtime/debug (and
// so strings, which Go initialises late): it answers through cli like every other command.
package buildinfo

import (
	"os"
	"runtime"
)

// Set by the release build (.goreleaser.yaml); empty in a plain go build.
var (
	version = ""
	commit  = ""
	date    = ""
)

// Stamp is what the build stamped: version ("dev" when not stamped), commit and date (""
// when not stamped).
func Stamp() (v, c, d string) {
	if v = version; v == "" {
		v = "dev"
	}
	return v, commit, date
}

// Line is `pi version`'s line, "pi VERSION (COMMIT, DATE) GOOS/GOARCH": "dev" for no
// version, the commit's first 12 characters, "unknown commit" and "unknown date" for none.
func Line(v, c, d string) string {
	if v == "" {
		v = "dev"
	}
	if len(c) > 12 {
		c = c[:12]
	}
	if c == "" {
		c = "unknown commit"
	}
	if d == "" {
		d = "unknown date"
	}
	return "pi " + v + " (" + c + ", " + d + ") " + runtime.GOOS + "/" + runtime.GOARCH
}

func init() {
	// `pi version` exactly, from a stamped build: anything else (a flag, an argument, a
	// build that must read its VCS stamp) goes through cli. A failed write too: cli then
	// reports it with its exit code.
	if len(os.Args) != 2 || os.Args[1] != "version" || commit == "" {
		return
	}
	if _, err := os.Stdout.WriteString(Line(version, commit, date) + "\n"); err == nil {
		os.Exit(0)
	}
}
