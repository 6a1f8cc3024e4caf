package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/render"
)

// secretWords are the secrets of TestSecretsNotShown's pipeline: none may be shown.
var secretWords = []string{"hunter2pass", "sekr3t-bearer-token", "cookie-sekr3t", "apikey-sekr3t", "ghp_envsekr3t", "querysekr3t"}

// Secrets a pipeline gives its own steps (an http.request's Authorization, Cookie and
// X-Api-Key headers, a URL's password or token parameter, a shell.run's token in env) are
// never shown: not in progress lines, the table, the GitHub summary and annotations, errors,
// -o json, nor in the report of the run.
func TestSecretsNotShown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
	}))
	defer srv.Close()
	dir := t.TempDir()
	u := strings.Replace(srv.URL, "http://", "http://deploy:hunter2pass@", 1) + "/hook?access_token=querysekr3t&x=1"
	file := writePipeline(t, dir, `steps:
  - id: notify
    action: http.request
    retry: {max_attempts: 1}
    input:
      url: "`+u+`"
      headers: {Authorization: "Bearer sekr3t-bearer-token", Cookie: "session=cookie-sekr3t", X-Api-Key: apikey-sekr3t, Accept: text/plain}
  - id: build
    action: shell.run
    input: {command: ["false"], env: {GITHUB_TOKEN: ghp_envsekr3t, MODE: fast}}
`)
	summary := filepath.Join(dir, "summary.md")
	env := map[string]string{"XDG_STATE_HOME": dir, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary}
	var runID string
	for _, o := range []string{"plain", "table", "json"} {
		ios, _, out, errOut := render.Test()
		ios.SetGetenv(func(k string) string { return env[k] })
		f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
		if code := Execute(t.Context(), f, []string{"run", file, "--local", "-o", o}); code != ExitRunFailed {
			t.Fatalf("-o %s: exit %d, want 1:\n%s", o, code, errOut)
		}
		all := out.String() + errOut.String()
		if !strings.Contains(all, "notify") || !strings.Contains(all, "status 500") {
			t.Fatalf("-o %s: the failure is not shown:\n%s", o, all)
		}
		noSecrets(t, "pi run -o "+o, all)
		if m := regexp.MustCompile(`"id": "([0-9a-f-]{36})"`).FindStringSubmatch(out.String()); m != nil {
			runID = m[1]
		}
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	noSecrets(t, "the job summary", string(b))
	if runID == "" {
		t.Fatal("no run id in -o json")
	}
	ios, _, out, errOut := render.Test()
	f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
	if code := Execute(t.Context(), f, []string{"runs", "report", runID}); code != 0 {
		t.Fatalf("runs report: exit %d: %s", code, errOut)
	}
	page := out.String()
	if !strings.Contains(page, "Accept") || !strings.Contains(page, "MODE") {
		t.Fatal("the report does not show the inputs at all")
	}
	noSecrets(t, "the report", page)
}

// A password in the configured base URL is not printed in a configuration error.
func TestBaseURLPasswordNotShown(t *testing.T) {
	for _, base := range []string{"http://deploy:hunter2pass@pi.example.com", "ftp://deploy:hunter2pass@pi.example.com"} {
		ios, _, _, errOut := render.Test()
		env := map[string]string{"PI_API_KEY": "pi_test_0123456789", "HOME": "/nonexistent", "PI_BASE_URL": base}
		f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
		if code := Execute(t.Context(), f, []string{"runs", "get", followID}); code == 0 {
			t.Fatalf("%s: exit 0", base)
		}
		if !strings.Contains(errOut.String(), "pi.example.com") {
			t.Errorf("%s: the error does not name the URL: %s", base, errOut)
		}
		noSecrets(t, base, errOut.String())
	}
}

func noSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range secretWords {
		if strings.Contains(text, s) {
			i := strings.Index(text, s)
			t.Errorf("%s shows the secret %q: …%s…", where, s, text[max(0, i-80):min(len(text), i+40)])
		}
	}
}
