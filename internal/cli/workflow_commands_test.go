package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
)

// hostileRunID is the run the workflow-command tests' server knows.
const hostileRunID = "6c1d9f3e-1111-4222-8333-444455556666"

// Under GitHub Actions a line of output that starts with "::" (after blanks, as the runner
// trims them) is a workflow command: ::add-mask:: hides text, ::stop-commands:: turns off
// pi's own annotations, ::error forges one. Step ids, errors and results come from the
// server: none of them may start a line, in any output mode, --jq raw strings included.
// pi's own commands (the group around progress lines, one ::error per failed step) remain.
func TestNoForgedWorkflowCommands(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"req_pi_1","object":"run","status":"completed","data":{"id":%q,"status":"failed","created_at":1795874042,"steps":[`+
			`{"id":"::add-mask::main","action":"campaigns.generate","status":"completed","depends_on":[],"job_id":"::warning::job","result":{"image_url":"https://img.test/a.png","note":"::notice::x"},"started_at":1795874042,"completed_at":1795874043},`+
			`{"id":"\u3000::set-output name=x::y","action":"campaigns.generate","status":"failed","depends_on":[],"error":"::error title=forged::pwned\n  ::stop-commands::pwned\r::debug::x"},`+
			`{"id":":: x","action":"::error::a","status":"skipped","depends_on":[],"error":"dependency_failed"}]}}`, hostileRunID)
	}))
	defer srv.Close()
	env := map[string]string{"PI_BASE_URL": srv.URL, "PI_API_KEY": "pi_test_wf_key_123456", "GITHUB_ACTIONS": "true",
		"XDG_STATE_HOME": t.TempDir(), "XDG_CONFIG_HOME": t.TempDir()}
	for _, args := range [][]string{
		{"runs", "get", hostileRunID},
		{"runs", "get", hostileRunID, "-o", "plain"},
		{"runs", "get", hostileRunID, "--wait"},
		{"runs", "get", hostileRunID, "--wait", "-o", "plain"},
		{"runs", "get", hostileRunID, "-o", "json"},
		{"runs", "get", hostileRunID, "--wait", "-o", "jsonl"},
		{"runs", "get", hostileRunID, "-o", "json", "--jq", ".steps[].error // empty"},
		{"runs", "get", hostileRunID, "-o", "json", "--jq", ".steps[] | .id, .action, .job_id, .result.note"},
		{"runs", "get", hostileRunID, "-o", "json", "--jq", `.steps[1].error | split("\n") | .[]`},
		{"runs", "get", hostileRunID, "-o", "json", "--jq", `error(.steps[1].error)`},
	} {
		t.Run(strings.Join(args[3:], " "), func(t *testing.T) {
			_, stdout, stderr := execute(t, env, args...)
			if strings.Join(args[3:], " ") == "--wait -o plain" &&
				(!strings.HasPrefix(stderr, "::group::pi run ") || !strings.Contains(stderr, "\n::error title=step ")) {
				t.Errorf("pi's own workflow commands are missing:\n%s", stderr)
			}
			for name, out := range map[string]string{"stdout": stdout, "stderr": stderr} {
				// The runner reads lines ending at CR or LF, and trims blanks before "::".
				for _, line := range strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' }) {
					cmd := strings.TrimLeftFunc(line, unicode.IsSpace)
					if strings.HasPrefix(cmd, "::") && !ownCommand(cmd) {
						t.Errorf("%s line starts a workflow command: %q", name, line)
					}
				}
			}
		})
	}
}

// ownCommand reports the workflow commands pi itself writes.
func ownCommand(line string) bool {
	return strings.HasPrefix(line, "::group::pi run "+hostileRunID) || line == "::endgroup::" ||
		strings.HasPrefix(line, "::error title=step ")
}
