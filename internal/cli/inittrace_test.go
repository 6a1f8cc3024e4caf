package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// initAllocBudget bounds the allocations of all package initialisation in a pi process
// (GODEBUG=inittrace=1). pi's own packages must allocate nothing; what remains is the
// libraries pi links, whose package-level tables Go builds before main whatever the command
// (measured with Go 1.26: 2,750, of which gojq 1,669, yaml.v3 276, spinner 139,
// go-humanize 122, html/template 90). The margin takes a library update; a template
// parsed at init (report: 1,015) or a new library with a costly init does not fit.
const initAllocBudget = 3000

// initRecord is one line of GODEBUG=inittrace=1.
type initRecord struct {
	pkg           string
	bytes, allocs int
}

// parseInitTrace reads the init lines of GODEBUG=inittrace=1 output:
//
//	init PKG @0.50 ms, 0.010 ms clock, 1216 bytes, 13 allocs
func parseInitTrace(out []byte) ([]initRecord, error) {
	var recs []initRecord
	for line := range strings.Lines(string(out)) {
		if !strings.HasPrefix(line, "init ") {
			continue
		}
		var r initRecord
		var at, clock float64
		if _, err := fmt.Sscanf(line, "init %s @%f ms, %f ms clock, %d bytes, %d allocs", &r.pkg, &at, &clock, &r.bytes, &r.allocs); err != nil {
			return nil, fmt.Errorf("inittrace line %q: %v", strings.TrimSpace(line), err)
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("no init lines in:\n%s", out)
	}
	return recs, nil
}

// TestInitAllocations runs `pi version` with the init trace on: pi's own packages allocate
// nothing at package initialisation (templates, patterns, tables and colour profiles are
// built on first use, by the command that needs them), and all packages together stay
// under initAllocBudget. Start-up time itself is a benchmark (cmd/pi BenchmarkStartup).
func TestInitAllocations(t *testing.T) {
	cmd := exec.Command(piBinary(t), "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pi version: %v\n%s", err, stderr.Bytes())
	}
	recs, err := parseInitTrace(stderr.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, r := range recs {
		total += r.allocs
		if strings.HasPrefix(r.pkg, "github.com/pi-cli/pi/") && r.allocs > 0 {
			t.Errorf("%s allocates at package init (%d allocations, %d bytes): build it on first use", r.pkg, r.allocs, r.bytes)
		}
	}
	if total > initAllocBudget {
		t.Errorf("package initialisation allocates %d times, over the budget of %d; see GODEBUG=inittrace=1 pi version", total, initAllocBudget)
	}
	t.Logf("%d packages initialised, %d allocations", len(recs), total)
}

func TestParseInitTrace(t *testing.T) {
	out := []byte("pi dev\ninit internal/bytealg @0 ms, 0 ms clock, 0 bytes, 0 allocs\n" +
		"init gopkg.in/yaml%2ev3 @6.8 ms, 0.13 ms clock, 25736 bytes, 276 allocs\n")
	recs, err := parseInitTrace(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []initRecord{{"internal/bytealg", 0, 0}, {"gopkg.in/yaml%2ev3", 25736, 276}}
	if fmt.Sprint(recs) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", recs, want)
	}
	if _, err := parseInitTrace([]byte("pi dev\n")); err == nil {
		t.Error("no init lines: no error")
	}
	if _, err := parseInitTrace([]byte("init x @1 ms, garbage\n")); err == nil {
		t.Error("a bad line: no error")
	}
}

// earlyInitBudget bounds the packages Go initialises before an early package's init takes
// the process over (internal/reaper, and internal/buildinfo for a release build's pi
// version). Today about 22 of pi's 121 packages with an init run first (Go's runtime, os
// and what they need); an early package that imports bufio (and so strings) waits for 62.
const earlyInitBudget = 35

// checkEarlyInit fails t when trace (GODEBUG=inittrace=1 of a process that an early
// package's init took over: who, in pkg) shows more than earlyInitBudget packages, or a
// late one, initialised before it.
func checkEarlyInit(t *testing.T, trace []byte, who, pkg string) {
	t.Helper()
	recs, err := parseInitTrace(trace)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) > earlyInitBudget {
		t.Errorf("%d packages were initialised before %s took the process over, more than %d: %s imports a package Go initialises late (internal/reaper's doc)", len(recs), who, earlyInitBudget, pkg)
	}
	for _, rec := range recs {
		if isLatePackage(rec.pkg) {
			t.Errorf("%s's process initialised %s first (%d packages in all)", who, rec.pkg, len(recs))
		}
	}
}

// isLatePackage: pi's packages and the libraries that a process which takes itself over in
// an early init (the reaper, a release build's pi version) must not wait for.
func isLatePackage(pkg string) bool {
	if pkg == "github.com/pi-cli/pi/internal/buildinfo" || pkg == "github.com/pi-cli/pi/internal/reaper" {
		return false // the two early ones
	}
	for _, late := range []string{"github.com/pi-cli/", "modernc.org/sqlite", "github.com/itchyny/gojq", "gopkg.in/yaml", "github.com/spf13/cobra", "github.com/charmbracelet/lipgloss", "net/http"} {
		if strings.HasPrefix(pkg, late) {
			return true
		}
	}
	return false
}
