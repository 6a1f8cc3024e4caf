package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The release build's stamps, as .goreleaser.yaml passes them.
var releaseStamp = BuildInfo{Version: "v9.8.7", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-12-05T10:00:00Z"}

// stampedPiBinary builds pi as a release is built, with releaseStamp's -X flags.
func stampedPiBinary(t *testing.T) string {
	t.Helper()
	dir := filepath.Dir(piBinary(t)) // removed by TestMain
	path := filepath.Join(dir, "pi-stamped")
	const pkg = "github.com/pi-cli/pi/internal/buildinfo"
	ldflags := "-X " + pkg + ".version=" + releaseStamp.Version + " -X " + pkg + ".commit=" + releaseStamp.Commit + " -X " + pkg + ".date=" + releaseStamp.Date
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", path, "github.com/pi-cli/pi/cmd/pi").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return path
}

// TestVersionAnswersBeforePi: a release build answers `pi version` in internal/buildinfo's
// init, with the line cli prints for the same stamps, before Go initialises pi's libraries
// or its other packages (issue 24: `pi version` pays only for what it uses). Anything more
// on the command line, or a write that fails, goes through cli as before.
func TestVersionAnswersBeforePi(t *testing.T) {
	pi := stampedPiBinary(t)
	cmd := exec.Command(pi, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pi version: %v\n%s", err, stderr.Bytes())
	}
	if want := versionLine(releaseStamp) + "\n"; stdout.String() != want {
		t.Errorf("pi version printed %q, cli prints %q", stdout.String(), want)
	}
	checkEarlyInit(t, stderr.Bytes(), "pi version", "internal/buildinfo")

	// Through cli, as before: a flag, an argument, and a write that fails (cli says so,
	// with its exit code).
	out, err := exec.Command(pi, "version", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Print pi's version") {
		t.Errorf("pi version --help: %v\n%s", err, out)
	}
	out, err = exec.Command(pi, "version", "extra").CombinedOutput()
	if code := processExit(err); code != ExitUsage {
		t.Errorf("pi version extra: exit %d, want %d\n%s", code, ExitUsage, out)
	}
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	for _, bin := range []string{pi, piBinary(t)} {
		cmd := exec.Command(bin, "version")
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = full, &stderr
		err := cmd.Run()
		if code := processExit(err); code == ExitOK || !strings.Contains(stderr.String(), "no space left on device") {
			t.Errorf("%s version > /dev/full: exit %d\n%s", filepath.Base(bin), code, stderr.Bytes())
		}
	}
}

// processExit is the exit code of a finished process's error (0 for none).
func processExit(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
