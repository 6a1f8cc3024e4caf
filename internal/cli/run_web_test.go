package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/report"
	"github.com/pi-cli/pi/internal/run"
)

// fakeBrowser records what it was asked to open.
type fakeBrowser struct{ opened []string }

func (b *fakeBrowser) Browse(target string) error {
	b.opened = append(b.opened, target)
	return nil
}

// TestSandboxReportDrawsTheServedAds: the ads a report of a sandbox run draws again from
// its jobs are, byte for byte, the ones the sandbox served (downloaded by --download).
func TestSandboxReportDrawsTheServedAds(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pipeline.yaml")
	if err := os.WriteFile(file, []byte(starterPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	f, stdout, stderr := webFactory(t, nil)
	if code := Execute(context.Background(), f, []string{"run", file, "--sandbox", "--download", out, "-o", "json", "-q"}); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var r run.Run
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	inputs := pipelineInputs(file, []byte(starterPipeline), nil)
	if _, err := report.Write(&page, &r, report.Options{Inputs: inputs, Draw: sandboxDraw(&r, inputs)}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"hero", "localize_fr"} {
		served, err := os.ReadFile(filepath.Join(out, step+".png"))
		if err != nil {
			t.Fatal(err)
		}
		// html/template writes the + of base64 as &#43; in an attribute (the browser reads +)
		if !strings.Contains(page.String(), strings.ReplaceAll(base64.StdEncoding.EncodeToString(served), "+", "&#43;")) {
			t.Errorf("the report's %s is not the ad the sandbox served", step)
		}
	}
}

// webFactory is a test Factory whose state and cache live in a temporary directory and
// whose browser is b.
func webFactory(t *testing.T, b Browser) (*Factory, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	f, out, errOut := testFactory()
	home := t.TempDir()
	env := map[string]string{"HOME": home, "XDG_STATE_HOME": filepath.Join(home, "state"), "XDG_CACHE_HOME": filepath.Join(home, "cache")}
	f.Getenv = func(k string) string { return env[k] }
	f.Browser = b
	return f, out, errOut
}

// noBrowser is a machine without a browser.
type noBrowser struct{}

func (noBrowser) Browse(string) error { return errNoBrowser }

// TestRunWebOpensTheReport: pi run --web writes the report (DIR/report.html with
// --download, else in the cache directory) with the ads in it, and opens it; stdout stays
// the run's.
func TestRunWebOpensTheReport(t *testing.T) {
	for _, download := range []bool{true, false} {
		t.Run(fmt.Sprint("download=", download), func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "pipeline.yaml")
			if err := os.WriteFile(file, []byte(starterPipeline), 0o644); err != nil {
				t.Fatal(err)
			}
			b := &fakeBrowser{}
			f, stdout, stderr := webFactory(t, b)
			args := []string{"run", file, "--sandbox", "--web", "-q", "-o", "json"}
			if download {
				args = append(args, "--download", filepath.Join(dir, "out"))
			}
			if code := Execute(context.Background(), f, args); code != ExitOK {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			var r run.Run
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("stdout is not the run: %v\n%s", err, stdout)
			}
			want := filepath.Join(dir, "out", "report.html")
			if !download {
				want = filepath.Join(f.Getenv("XDG_CACHE_HOME"), "pi", "reports", r.ID+".html")
			}
			if len(b.opened) != 1 || b.opened[0] != want {
				t.Fatalf("opened %v, want %s", b.opened, want)
			}
			page, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(page), `src="data:image/png;base64,`); n != 2 {
				t.Errorf("%d images embedded, want 2", n)
			}
			if !strings.Contains(stderr.String(), "Opening "+want+" in your browser.") {
				t.Errorf("stderr:\n%s", stderr)
			}
		})
	}
}

// TestRunsReportWeb: pi runs report --web prints the page's path on stdout and opens it;
// without a browser it says where the page is and still succeeds.
func TestRunsReportWeb(t *testing.T) {
	for _, b := range []Browser{&fakeBrowser{}, noBrowser{}} {
		t.Run(fmt.Sprintf("%T", b), func(t *testing.T) {
			f, stdout, stderr := webFactory(t, b)
			dir := t.TempDir()
			file := filepath.Join(dir, "pipeline.yaml")
			if err := os.WriteFile(file, []byte(starterPipeline), 0o644); err != nil {
				t.Fatal(err)
			}
			if code := Execute(context.Background(), f, []string{"run", file, "--local", "--sandbox", "-q", "-o", "json", "--jq", ".id"}); code != ExitOK {
				t.Fatalf("run: exit %d\n%s", code, stderr)
			}
			id := strings.TrimSpace(stdout.String())
			// a new Factory (the first one holds --jq), with the same state and browser
			f2, stdout, stderr := testFactory()
			f2.Getenv, f2.Browser = f.Getenv, b
			out := filepath.Join(dir, "page.html")
			if code := Execute(context.Background(), f2, []string{"runs", "report", id, "--web", "--out", out}); code != ExitOK {
				t.Fatalf("report: exit %d\n%s", code, stderr)
			}
			if stdout.String() != out+"\n" {
				t.Errorf("stdout = %q, want the path", stdout)
			}
			page, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(page), `src="data:image/png;base64,`); n != 2 {
				t.Errorf("%d images embedded, want 2", n)
			}
			if !strings.Contains(string(page), "Pipeline: <code>"+file+"</code>") {
				t.Error("the page does not name the pipeline file")
			}
			switch b := b.(type) {
			case *fakeBrowser:
				if len(b.opened) != 1 || b.opened[0] != out {
					t.Errorf("opened %v", b.opened)
				}
			default:
				if !strings.Contains(stderr.String(), "no browser found (set BROWSER to the command of one); open "+out+" yourself") {
					t.Errorf("stderr:\n%s", stderr)
				}
			}
		})
	}
}

func TestSystemBrowserCommand(t *testing.T) {
	found := func(string) (string, error) { return "/usr/bin/x", nil }
	missing := func(string) (string, error) { return "", errors.New("not found") }
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "BROWSER" {
				return v
			}
			return ""
		}
	}
	if got, _ := (systemBrowser{getenv: env("firefox --new-tab"), lookPath: missing}).command("/tmp/r.html"); strings.Join(got, " ") != "firefox --new-tab /tmp/r.html" {
		t.Errorf("$BROWSER: %q", got)
	}
	if _, err := (systemBrowser{getenv: env(""), lookPath: missing}).command("/tmp/r.html"); !errors.Is(err, errNoBrowser) {
		t.Errorf("no opener: %v", err)
	}
	if got, err := (systemBrowser{getenv: env(""), lookPath: found}).command("/tmp/r.html"); err != nil || got[len(got)-1] != "/tmp/r.html" {
		t.Errorf("system opener: %q, %v", got, err)
	}
}
