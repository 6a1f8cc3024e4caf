package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
)

func testFactory() (*Factory, *bytes.Buffer, *bytes.Buffer) {
	io, _, out, errOut := render.Test()
	return &Factory{IO: io, Getenv: func(string) string { return "" }}, out, errOut
}

func TestValidateFlags(t *testing.T) {
	tests := []struct {
		args     []string
		want     validateOptions
		wantCode int // exit code of a usage error; 0 when the flags are fine
	}{
		{args: []string{"a.yaml"}, want: validateOptions{Files: []string{"a.yaml"}, Output: "text", StrictFromConfig: true, Timeout: validateTimeout}},
		{args: []string{"a.yaml", "--strict"}, want: validateOptions{Files: []string{"a.yaml"}, Output: "text", Strict: true, Timeout: validateTimeout}},
		{args: []string{"a.yaml", "--strict=false", "--timeout", "0"}, want: validateOptions{Files: []string{"a.yaml"}, Output: "text"}},
		{args: []string{"a.yaml", "--timeout", "10s"}, want: validateOptions{Files: []string{"a.yaml"}, Output: "text", StrictFromConfig: true, Timeout: 10 * time.Second}},
		{
			args: []string{"a.yaml", "b.yaml", "--local", "-p", "url=https://x", "--param", "n=2", "-o", "json"},
			want: validateOptions{Files: []string{"a.yaml", "b.yaml"}, Local: true, Output: "json",
				Params: map[string]string{"url": "https://x", "n": "2"}, StrictFromConfig: true, Timeout: validateTimeout},
		},
		{args: []string{"a.yaml", "--timeout", "-1s"}, wantCode: ExitUsage},
		{args: []string{}, wantCode: ExitUsage},
		{args: []string{"a.yaml", "-o", "yaml"}, wantCode: ExitUsage},
		{args: []string{"a.yaml", "-p", "novalue"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, _, _ := testFactory()
			var got *validateOptions
			cmd := newValidateCmdWith(f, func(o *validateOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantCode != 0 {
				if err == nil || exitCode(err) != tt.wantCode {
					t.Fatalf("err = %v (exit %d), want exit %d", err, exitCode(err), tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Config == nil {
				t.Error("no Config to read strict from")
			}
			got.IO, got.Config = nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunValidate(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", "steps:\n  - { id: a, action: brands.extract, input: { url: https://x.example } }\n")
	warn := writeFile(t, dir, "warn.yaml", "params: { p: 1 }\nsteps:\n  - { id: a, action: brands.extract, input: { url: https://x.example } }\n")
	bad := writeFile(t, dir, "bad.yaml", "steps:\n  - { id: a, action: shell.run, input: { script: 'true' } }\n")
	missing := filepath.Join(dir, "missing.yaml")

	tests := []struct {
		name     string
		stdin    string
		tty      bool
		opts     validateOptions
		wantCode int
		wantErr  []string // lines expected on stderr, in order
		wantJSON int      // number of diagnostics in the JSON output (-1: not JSON)
	}{
		{name: "valid", opts: validateOptions{Files: []string{good}}, wantErr: []string{good + ": valid (1 step)"}, wantJSON: -1},
		{name: "warning only", opts: validateOptions{Files: []string{warn}}, wantErr: []string{
			warn + `:1:11: warning: param "p" is defined but never used: reference it as ${params.p} in an input, or remove it`,
			warn + ": valid (1 step, 1 warning)"}, wantJSON: -1},
		{name: "local action remote", opts: validateOptions{Files: []string{bad}}, wantCode: ExitUsage, wantErr: []string{
			bad + ":2:22: action shell.run runs only on this machine: the Runs API does not know it (use pi run --local)",
			bad + ": invalid (1 error)"}, wantJSON: -1},
		{name: "local action local", opts: validateOptions{Files: []string{bad}, Local: true}, wantErr: []string{bad + ": valid (1 step)"}, wantJSON: -1},
		{name: "missing and good", opts: validateOptions{Files: []string{missing, good}}, wantCode: ExitUsage, wantErr: []string{
			missing + ": no such file: check the path", missing + ": invalid (1 error)", good + ": valid (1 step)"}, wantJSON: -1},
		{name: "json", opts: validateOptions{Files: []string{good, warn, bad}, Output: "json"}, wantCode: ExitUsage, wantJSON: 2},
		{name: "json valid", opts: validateOptions{Files: []string{good}, Output: "json"}, wantJSON: 0},
		{name: "stdin", stdin: "steps:\n  - { id: a, action: brands.extrac }\n", opts: validateOptions{Files: []string{"-"}}, wantCode: ExitUsage, wantErr: []string{
			`<stdin>:2:22: unknown action "brands.extrac" (did you mean "brands.extract"?)`, "<stdin>: invalid (1 error)"}, wantJSON: -1},
		{name: "snippets on a terminal", tty: true, opts: validateOptions{Files: []string{bad}}, wantCode: ExitUsage, wantErr: []string{
			bad + ":2:22: action shell.run runs only on this machine: the Runs API does not know it (use pi run --local)",
			" 2 |   - { id: a, action: shell.run, input: { script: 'true' } }",
			"   |                      ^",
			bad + ": invalid (1 error)"}, wantJSON: -1},
		{name: "no snippets in json on a terminal", tty: true, opts: validateOptions{Files: []string{bad}, Output: "json"}, wantCode: ExitUsage, wantJSON: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, out, errOut := testFactory()
			f.IO.In = strings.NewReader(tt.stdin)
			f.IO.SetTTY(tt.tty)
			tt.opts.IO = f.IO
			if tt.opts.Output == "" {
				tt.opts.Output = "text"
			}
			err := runValidate(context.Background(), &tt.opts)
			if exitCode(err) != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d", exitCode(err), err, tt.wantCode)
			}
			if err != nil && !isSilent(err) {
				t.Errorf("error not silent: %v (the diagnostics were printed already)", err)
			}
			if tt.wantJSON >= 0 {
				var list []map[string]any
				if err := json.Unmarshal(out.Bytes(), &list); err != nil {
					t.Fatalf("stdout is not a JSON list: %v\n%s", err, out)
				}
				if len(list) != tt.wantJSON {
					t.Errorf("%d diagnostics, want %d:\n%s", len(list), tt.wantJSON, out)
				}
				for _, d := range list {
					for _, k := range []string{"file", "line", "column", "severity", "code", "step", "path", "message"} {
						if _, ok := d[k]; !ok {
							t.Errorf("diagnostic without %q: %v", k, d)
						}
					}
				}
				if errOut.Len() != 0 {
					t.Errorf("stderr not empty with -o json: %s", errOut)
				}
				return
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty: %q", out)
			}
			got := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
			if !reflect.DeepEqual(got, tt.wantErr) {
				t.Errorf("stderr:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantErr, "\n"))
			}
		})
	}
}
