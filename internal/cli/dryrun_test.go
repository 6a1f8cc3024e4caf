package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/dryrun")

const dryRunGoldens = "../../testdata/dryrun"

// dryRunCmd runs `pi run ARGS` through the real command with a factory that has no key and
// no base URL: a dry run needs neither.
func dryRunCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return dryRunOn(t, false, args...)
}

// dryRunOn is dryRunCmd with stdout and stderr terminals (tty) or not.
func dryRunOn(t *testing.T, tty bool, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ios, _, out, errOut := render.Test()
	ios.SetTTY(tty)
	f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
	cmd := newRunCmd(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	var ee *ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Silent) {
		errOut.WriteString(err.Error() + "\n") // as main prints it
	}
	return out.String(), errOut.String(), exitCode(err)
}

func TestDryRunGolden(t *testing.T) {
	valid := filepath.Join(pipelinesDirForCLI, "valid")
	tests := []struct {
		name string
		args []string
	}{
		{"localization-matrix.remote", []string{filepath.Join(valid, "localization-matrix.yaml"), "--dry-run"}},
		{"localization-matrix.params", []string{filepath.Join(valid, "localization-matrix.yaml"), "--dry-run", "-p", "cultures=[French urban premium, Korean Seoul trendy]"}},
		{"localization-matrix.local", []string{filepath.Join(valid, "localization-matrix.yaml"), "--dry-run", "--local", "--sandbox"}},
		{"matrix-thumbnails.local", []string{filepath.Join(valid, "local", "matrix-thumbnails.yaml"), "--dry-run", "--local"}},
		{"fanout-localization.remote", []string{filepath.Join(valid, "fanout-localization.yaml"), "--dry-run"}},
		// 40 steps: the server runs (waves) and each one's body (issue 23)
		{"waves-campaign.remote", []string{filepath.Join(valid, "waves-campaign.yaml"), "--dry-run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := dryRunCmd(t, tt.args...)
			if code != ExitOK {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			got := "$ pi run " + strings.Join(quoteArgs(tt.args), " ") + "\n-- stdout --\n" + stdout + "-- stderr --\n" + stderr
			golden := filepath.Join(dryRunGoldens, tt.name+".golden")
			if *update {
				if err := os.MkdirAll(dryRunGoldens, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/cli -run TestDryRun -update)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

const pipelinesDirForCLI = "../../testdata/pipelines"

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.TrimPrefix(a, pipelinesDirForCLI+"/")
		if strings.ContainsAny(a, " []") {
			out[i] = "'" + a + "'"
		}
	}
	return out
}

// The remote dry run prints exactly the body pi run would POST: the same bytes RunsBody
// gives for the expanded pipeline, with no extension in it. Piped, it is those bytes (one
// line, for scripts); on a terminal the same JSON indented, for a person.
func TestDryRunBodyIsWhatWouldBeSent(t *testing.T) {
	path := filepath.Join(pipelinesDirForCLI, "valid", "localization-matrix.yaml")
	stdout, stderr, code := dryRunCmd(t, path, "--dry-run", "-p", "cultures=[fr, de]")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	x, _, ds, err := pipeline.Load(path, pipeline.Options{Mode: pipeline.Remote, Params: map[string]string{"cultures": "[fr, de]"}})
	if err != nil || x == nil {
		t.Fatalf("%v %v", err, ds)
	}
	body, err := x.RunsBody()
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(body)+"\n" {
		t.Errorf("stdout is not the body:\n%s\nwant\n%s", stdout, body)
	}
	var req pipeline.RunsRequest
	if err := json.Unmarshal([]byte(stdout), &req); err != nil {
		t.Fatal(err)
	}
	if len(req.Steps) != 4 || req.Steps[2].ID != "localize-fr" || req.Steps[3].ID != "localize-de" {
		t.Errorf("steps: %+v", req.Steps)
	}
	for _, word := range []string{"matrix", "params", "retry", "timeout", "${"} {
		if strings.Contains(stdout, word) {
			t.Errorf("the body contains %q: %s", word, stdout)
		}
	}
	if strings.Count(stdout, "\n") != 1 {
		t.Errorf("piped: %d lines, want the body on one", strings.Count(stdout, "\n"))
	}
	tty, stderr, code := dryRunOn(t, true, path, "--dry-run", "-p", "cultures=[fr, de]")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(tty, "{\n  \"") || !strings.Contains(tty, "\n    {\n      \"id\": \"") {
		t.Errorf("on a terminal the body is not indented:\n%s", tty)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(tty)); err != nil || compact.String() != string(body) {
		t.Errorf("on a terminal the body is not the same JSON (%v):\n%s", err, tty)
	}
}

func TestDryRunInvalid(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", `steps:
  - id: loc
    action: campaigns.localize_ad
    matrix: { culture: [fr, de, es, it, nl, pl, pt, sv, da, fi, cs] }
    input: { prompt: Keep, target_culture: "${matrix.culture}", source_image_url: https://cdn.example.com/a.png }
`)
	// 11 steps are 2 server runs (waves), no longer a problem (issue 23)
	stdout, stderr, code := dryRunCmd(t, bad, "--dry-run")
	if code != ExitOK || !strings.Contains(stderr, "waves      2 server runs of at most 10 steps") || !strings.Contains(stdout, `"wave":2`) {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	// the same file for the local engine: the plan
	stdout, stderr, code = dryRunCmd(t, bad, "--dry-run", "--local")
	if code != ExitOK || strings.Contains(stderr, "Runs API accepts") || strings.Contains(stderr, "warning") || !strings.Contains(stdout, `"id": "loc-cs"`) {
		t.Errorf("local: exit %d\n%s\n%s", code, stderr, stdout)
	}
	// a step mapping the whole result of one 11 steps before it: they cannot be cut
	var b strings.Builder
	b.WriteString("steps:\n  - { id: s0, action: campaigns.generate, input: { prompt: p } }\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "  - { id: s%d, action: campaigns.edit, depends_on: [s%d], input: { prompt: p }, input_map: { source_job_id: $steps.s%d.result.job_id } }\n", i, i-1, i-1)
	}
	b.WriteString("  - { id: s11, action: campaigns.generate, depends_on: [s10, s0], input: { prompt: p }, input_map: { metadata: $steps.s0.result } }\n")
	whole := writeFile(t, dir, "whole.yaml", b.String())
	stdout, stderr, code = dryRunCmd(t, whole, "--dry-run")
	if want := "12 steps cannot be cut into runs of at most 10: s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11 must run in one server run (s11 maps the whole result of s0 to metadata, which pi does not pass as a literal), and they are 12"; code != ExitUsage || stdout != "" || !strings.Contains(stderr, want) {
		t.Errorf("whole result: exit %d, stdout %q\n%s\nwant %s", code, stdout, stderr, want)
	}
	_, stderr, code = dryRunCmd(t, filepath.Join(dir, "missing.yaml"), "--dry-run")
	if code != ExitUsage || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: exit %d, %s", code, stderr)
	}
}

func TestDryRunFlags(t *testing.T) {
	for _, tt := range []struct{ args, wantErr string }{
		{"p.yaml --dry-run --detach", "nothing to --detach from"},
		{"--resume 9f175af9-589b-44e8-86b9-1a434702245a --dry-run", "--dry-run shows a pipeline FILE"},
		{"p.yaml --dry-run --timeout 1m", "--dry-run runs nothing"},
		{"p.yaml --dry-run -o jsonl", "-o jsonl does not apply"},
	} {
		ios, _, _, _ := render.Test()
		f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
		called := false
		cmd := newRunCmd(f, func(*runOptions) error { called = true; return nil })
		cmd.SetArgs(strings.Fields(tt.args))
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != ExitUsage || called {
			t.Errorf("%s: err = %v (exit %d), called %v", tt.args, err, exitCode(err), called)
		}
	}
	ios, _, _, _ := render.Test()
	f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
	var got *runOptions
	cmd := newRunCmd(f, func(o *runOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"p.yaml", "--dry-run", "--local", "-o", "json", "-p", "cultures=[fr, de]"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !got.DryRun || !got.Local || got.Params["cultures"] != "[fr, de]" {
		t.Errorf("options: %+v", got)
	}
}

// The plan written step by step is exactly the plan encoded at once, params, metadata and
// characters encoding/json escapes included.
func TestWritePlanIsTheWholeEncoding(t *testing.T) {
	x, _, ds, err := pipeline.Load("p<&>.yaml", pipeline.Options{Mode: pipeline.Local, Data: []byte(`params: { who: "a<b>&c", n: 2 }
metadata: { team: "ads & <more>", nested: { k: [1, 2] } }
steps:
  - id: a
    action: shell.run
    input: { command: [echo, "${params.who}"] }
    retry: { max_attempts: 2, backoff: 3s }
    timeout: 1m
  - id: b
    action: shell.run
    depends_on: [a]
    matrix: { n: [1, 2] }
    input: { command: [echo, "${matrix.n}", "${params.n}"] }
`)})
	if err != nil || x == nil {
		t.Fatal(err, ds)
	}
	whole := struct {
		File     string         `json:"file"`
		Params   map[string]any `json:"params,omitempty"`
		Steps    []planStep     `json:"steps"`
		Metadata map[string]any `json:"metadata,omitempty"`
	}{File: x.Name, Params: map[string]any{}, Metadata: x.Metadata}
	for name, prm := range x.Params {
		whole.Params[name] = prm.Value
	}
	for i := range x.Steps {
		whole.Steps = append(whole.Steps, planOf(&x.Steps[i]))
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(whole); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	w := bufio.NewWriter(&got)
	if err := writePlan(w, x); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if got.String() != want.String() {
		t.Errorf("step by step:\n%s\nat once:\n%s", got.String(), want.String())
	}
}
