package sandbox

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/catalog"
)

// FuzzRunBody: whatever the body, the validator answers without panicking, and what it
// accepts is a graph the engine can run (1..10 steps, known actions, a valid DAG).
func FuzzRunBody(f *testing.F) {
	for _, seed := range []string{
		`{"steps":[{"id":"a","action":"brands.extract","input":{"url":"https://x.test"}}]}`,
		`{"steps":[{"id":"a","action":"campaigns.generate","depends_on":["b"]},{"id":"b","action":"campaigns.edit","depends_on":["a"]}]}`,
		`{"steps":[{"id":" a ","action":"campaigns.localize_ad","input_map":{"k":"$steps.a.result.x"}}],"metadata":null}`,
		`{"steps":[]}`, `[]`, `{"steps":[{"id":1}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var obj map[string]any
		if json.Unmarshal(b, &obj) != nil || obj == nil {
			return
		}
		body, e := parseRunBody(obj)
		if e != nil {
			if e.status != 400 || e.code == "" || (e.code == "invalid_request_body" && (len(e.issues) == 0 || e.message != e.issues[0].Message)) {
				t.Fatalf("error %+v", e)
			}
			return
		}
		if n := len(body.Steps); n < 1 || n > 10 {
			t.Fatalf("accepted %d steps", n)
		}
		if reason := checkDAG(body.Steps); reason != "" {
			t.Fatalf("accepted a bad graph: %s", reason)
		}
		for _, s := range body.Steps {
			if !isServerAction(s.Action) || s.ID == "" {
				t.Fatalf("accepted step %+v", s)
			}
			if s.ID != strings.TrimSpace(s.ID) {
				t.Fatalf("id %q not trimmed", s.ID)
			}
			catalog.Check(s.Action, s.Input)
		}
	})
}

// isServerAction: an action the server runs (not a local one of pi's).
func isServerAction(name string) bool {
	a, ok := catalog.Lookup(name)
	return ok && !a.Local
}
