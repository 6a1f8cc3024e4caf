package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
)

// Inputs over the limit are refused before parsing: /dev/zero, a file or stdin over
// the size (64 MiB) or with too many lines and flow items; diagnostics are capped.
func TestInputLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, bytes.Repeat([]byte("# padding\n"), pipeline.MaxFileSize/10+1), 0o644)
	flow := filepath.Join(dir, "flow.yaml")
	os.WriteFile(flow, []byte("steps: [{id: a, action: shell.run, input: {command: ["+strings.Repeat("1,", pipeline.MaxItems)+"1]}}]\n"), 0o644)
	for _, args := range [][]string{
		{"validate", flow},
		{"validate", "/dev/zero"},
		{"validate", big},
		{"run", "/dev/zero", "--local"},
		{"graph", "/dev/zero"},
	} {
		ios, _, _, errOut := render.Test()
		f := &Factory{IO: ios, Getenv: func(k string) string { return map[string]string{"XDG_STATE_HOME": dir}[k] }}
		if code := runWithin(t, 30*time.Second, f, args...); code != ExitUsage || !strings.Contains(errOut.String(), fmt.Sprintf("larger than %d MiB", pipeline.MaxFileSize>>20)) && !strings.Contains(errOut.String(), "lines and flow items, more than") && !strings.Contains(errOut.String(), "lines and flow items, the most") && !strings.Contains(errOut.String(), "holds NUL bytes") {
			t.Fatalf("pi %v: exit %d:\n%s", args, code, errOut)
		}
	}
	ios, in, _, errOut := render.Test()
	in.Write([]byte("# padding"))
	in.Write(bytes.Repeat([]byte(" padding "), pipeline.MaxFileSize/9+1)) // one line: the size trips first
	f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
	if code := runWithin(t, 30*time.Second, f, "validate", "-"); code != ExitUsage || !strings.Contains(errOut.String(), fmt.Sprintf("<stdin> is larger than %d MiB", pipeline.MaxFileSize>>20)) {
		t.Fatalf("stdin: exit %d:\n%s", code, errOut)
	}

	// 5000 duplicate keys: the first 100 diagnostics, then a count.
	var b strings.Builder
	b.WriteString("steps:\n  - id: a\n    action: shell.run\n    input: {command: [true]}\n")
	for range 5000 {
		b.WriteString("    id: a\n")
	}
	dup := filepath.Join(dir, "dup.yaml")
	os.WriteFile(dup, []byte(b.String()), 0o644)
	ios, _, _, errOut = render.Test()
	f = &Factory{IO: ios, Getenv: func(string) string { return "" }}
	runWithin(t, 30*time.Second, f, "validate", dup)
	if n := strings.Count(errOut.String(), "dup.yaml:"); n > pipeline.MaxDiagnostics+2 || !strings.Contains(errOut.String(), "more problems") {
		t.Fatalf("%d diagnostics shown:\n%.2000s", n, errOut)
	}
}

// Ids with control characters are invalid; server text with ESC/BEL/newlines is escaped
// in every mode, and under GitHub Actions no forged workflow command line appears.
func TestControlCharactersEscaped(t *testing.T) {
	dir := t.TempDir()
	file := writePipeline(t, dir, "steps:\n  - id: \"a\\e[31m\"\n    action: shell.run\n    input: {command: [true]}\n")
	f, _ := localFactory(t, dir)
	if code := Execute(t.Context(), f, []string{"validate", file}); code != ExitUsage {
		t.Fatalf("an id with ESC: exit %d, want 2", code)
	}
	file = writePipeline(t, dir, "steps:\n  - id: a\n    action: shell.run\n    input: {script: \"printf 'bad\\\\033]0;pwned\\\\007\\\\n::warning::forged\\\\302\\\\233' >&2; exit 3\"}\n")
	for _, o := range []string{"plain", "json", "jsonl", "table"} {
		ios, _, out, errOut := render.Test()
		env := map[string]string{"XDG_STATE_HOME": dir, "GITHUB_ACTIONS": "true"}
		f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
		ios.SetGetenv(f.Getenv)
		Execute(t.Context(), f, []string{"run", file, "--local", "-o", o})
		all := out.String() + errOut.String()
		if !strings.Contains(all, "pwned") {
			t.Fatalf("-o %s: the step's stderr is not shown at all:\n%s", o, all)
		}
		for _, bad := range []string{"\x1b", "\x07", "\u009b"} {
			if strings.Contains(all, bad) {
				t.Fatalf("-o %s: raw %q in the output:\n%q", o, bad, all)
			}
		}
		for _, l := range strings.Split(all, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "::warning") {
				t.Fatalf("-o %s: a forged workflow command line: %q", o, l)
			}
		}
	}
}

// A remote server's text (a step error with ESC, BEL, C1 and a forged workflow command) is
// escaped in every output mode of pi run and pi runs get.
func TestRemoteServerTextEscaped(t *testing.T) {
	evil := `boom\u001b]0;pwned\u0007\n::warning::forged\u009b2J\u007f`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			w.WriteHeader(202)
			w.Write([]byte(`{"id":"req_pi_1","data":{"run_id":"` + followID + `","status":"pending","steps":[{"id":"brand","status":"pending"}]}}`))
			return
		}
		w.Write([]byte(`{"id":"req_pi_2","data":{"id":"` + followID + `","status":"failed","steps":[{"id":"brand","action":"brands.extract","status":"failed","depends_on":[],"error":"` + evil + `"}]}}`))
	}))
	defer srv.Close()
	file := writePipeline(t, t.TempDir(), remotePipeline)
	for _, args := range [][]string{
		{"run", file, "-o", "plain"}, {"run", file, "-o", "json"}, {"run", file, "-o", "jsonl"},
		{"runs", "get", followID}, {"runs", "get", followID, "-o", "json"},
	} {
		f, out, errOut := remoteFactory(t, srv.URL, "pi_test_0123456789")
		env := f.Getenv
		f.Getenv = func(k string) string {
			if k == "GITHUB_ACTIONS" {
				return "true"
			}
			return env(k)
		}
		f.IO.SetGetenv(f.Getenv)
		runWithin(t, 20*time.Second, f, args...)
		all := out.String() + errOut.String()
		if !strings.Contains(all, "pwned") {
			t.Fatalf("%v: the error is not shown:\n%s", args, all)
		}
		for _, bad := range []string{"\x1b", "\x07", "\u009b", "\x7f"} {
			if strings.Contains(all, bad) {
				t.Fatalf("%v: raw %q in the output:\n%q", args, bad, all)
			}
		}
		for _, l := range strings.Split(all, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "::warning") {
				t.Fatalf("%v: a forged workflow command line: %q", args, l)
			}
		}
	}
}
