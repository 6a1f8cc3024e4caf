package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkJSONTimes decodes every JSON value of out (one for -o json, one per line for -o
// jsonl) and checks that each field named *_at, and each event's time, is null or an RFC
// 3339 string in UTC. It returns the times it saw, by field name.
func checkJSONTimes(t *testing.T, what, out string) map[string][]string {
	t.Helper()
	seen := map[string][]string{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if strings.HasSuffix(k, "_at") || k == "time" {
					if x == nil {
						continue
					}
					s, isStr := x.(string)
					if !isStr {
						t.Errorf("%s: %s is %v (%T), want an RFC 3339 string", what, k, x, x)
						continue
					}
					if tm, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") || tm.Year() < 2000 {
						t.Errorf("%s: %s = %q, want RFC 3339 in UTC (%v)", what, k, s, err)
					}
					seen[k] = append(seen[k], s)
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	dec := json.NewDecoder(strings.NewReader(out))
	n := 0
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", what, err, out)
		}
		walk(v)
		n++
	}
	if n == 0 {
		t.Fatalf("%s printed no JSON", what)
	}
	return seen
}

// TestJSONTimes: every command's -o json and -o jsonl writes its times in one format, RFC
// 3339 in UTC with the precision the source has (docs/output.md): a local run's times
// (pi's clock) keep their fractions, a remote run's (whole seconds from the server) have
// none, and runs list and cache list write theirs the same way.
func TestJSONTimes(t *testing.T) {
	srv, _ := jqAPI(t)
	dir := t.TempDir()
	env := map[string]string{"PI_BASE_URL": srv.URL, "PI_API_KEY": "pi_test_jq_key_123456",
		"XDG_STATE_HOME": dir, "XDG_CONFIG_HOME": dir, "XDG_CACHE_HOME": dir, "HOME": dir}
	p := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(p, []byte("steps:\n  - id: hello\n    action: shell.run\n    cache: true\n    input: { command: [echo, hi] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fractions := func(ts []string) bool {
		for _, s := range ts {
			if strings.Contains(s, ".") {
				return true
			}
		}
		return false
	}
	var localID string
	for _, tt := range []struct {
		name string
		args []string
		code int
		// fields that must appear, and whether some of their times have fractions
		want map[string]bool
	}{
		{"run -o json", []string{"run", p, "--local", "-o", "json"}, 0, map[string]bool{"created_at": true, "started_at": true, "completed_at": true}},
		{"run -o jsonl", []string{"run", p, "--local", "--no-cache", "-o", "jsonl"}, 0, map[string]bool{"time": true, "created_at": true, "started_at": true}},
		{"runs get -o json (local)", []string{"runs", "get", "LOCAL", "-o", "json"}, 0, map[string]bool{"created_at": true, "started_at": true}},
		{"runs get -o jsonl (local)", []string{"runs", "get", "LOCAL", "-o", "jsonl"}, 0, map[string]bool{"created_at": true, "started_at": true}},
		{"runs get -o json (remote)", []string{"runs", "get", jqRunID, "-o", "json"}, 1, map[string]bool{"created_at": false}},
		{"runs get -o jsonl (remote)", []string{"runs", "get", jqRunID, "-o", "jsonl"}, 1, map[string]bool{"created_at": false}},
		{"runs list -o json", []string{"runs", "list", "-o", "json"}, 0, map[string]bool{"started_at": true}},
		{"runs list -o jsonl", []string{"runs", "list", "-o", "jsonl"}, 0, map[string]bool{"started_at": true}},
		{"cache list -o json", []string{"cache", "list", "-o", "json"}, 0, map[string]bool{"created_at": true, "used_at": true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string(nil), tt.args...)
			for i := range args {
				if args[i] == "LOCAL" {
					args[i] = localID
				}
			}
			code, stdout, stderr := execute(t, env, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			seen := checkJSONTimes(t, tt.name, stdout)
			for field, frac := range tt.want {
				if len(seen[field]) == 0 {
					t.Errorf("no %s in:\n%s", field, stdout)
				} else if fractions(seen[field]) != frac {
					t.Errorf("%s %v: fractions of a second = %v, want %v (the source's precision)", field, seen[field], !frac, frac)
				}
			}
			if localID == "" {
				var r struct{ ID string }
				if err := json.NewDecoder(bytes.NewReader([]byte(stdout))).Decode(&r); err != nil {
					t.Fatal(err)
				}
				localID = r.ID
			}
		})
	}
}

// TestJQWithJSONL: --jq runs on each line wherever -o jsonl exists, and a command without
// jsonl does not suggest it.
func TestJQWithJSONL(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"XDG_STATE_HOME": dir, "XDG_CONFIG_HOME": dir, "HOME": dir}
	p := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(p, []byte("steps:\n  - id: hello\n    action: shell.run\n    input: { command: [echo, hi] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if code, _, stderr := execute(t, env, "run", p, "--local", "-q"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	code, stdout, stderr := execute(t, env, "runs", "list", "-o", "jsonl", "--jq", ".status")
	if code != 0 || stdout != "completed\ncompleted\n" {
		t.Errorf("runs list -o jsonl --jq .status: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	code, _, stderr = execute(t, env, "runs", "list", "--jq", ".status")
	if code != 2 || !strings.Contains(stderr, "-o jsonl") {
		t.Errorf("runs list --jq: exit %d, %s (want the hint to name jsonl)", code, stderr)
	}
	code, _, stderr = execute(t, env, "validate", p, "--jq", ".")
	if code != 2 || !strings.Contains(stderr, "add -o json to") || strings.Contains(stderr, "jsonl") {
		t.Errorf("validate --jq: exit %d, %s (validate has no jsonl)", code, stderr)
	}
}
