package catalog

import (
	"encoding/json"
	"testing"
)

// FuzzCheck: whatever the input, Check answers without panicking, every issue has a path
// inside the input and a message, Parse keeps only the action's keys, and the issue list
// reads back from zod's message.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		`{"prompt":"p","output":{"aspect_ratio":"7:3"}}`,
		`{"source_job_id":"8177a096-0e0a-4806-a856-80d06bccd834","prompt":"  ","metadata":{"a":1}}`,
		`{"url":"ftp://x","location":{"country":"FRA","languages":["f",2]}}`,
		`{"reference_images":["",null,"data:x,y"],"prompt":null}`,
		`{"command":[],"script":3}`, `{}`,
	} {
		for _, a := range All() {
			f.Add(a.Name, []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, action string, body []byte) {
		var in map[string]any
		if json.Unmarshal(body, &in) != nil || in == nil {
			return
		}
		out, issues := Parse(action, in)
		a, known := Lookup(action)
		for _, is := range issues {
			if is.Message == "" || len(is.Path) == 0 {
				t.Fatalf("issue %+v", is)
			}
		}
		if known {
			for k := range out {
				if _, ok := a.Input(k); !ok {
					t.Fatalf("kept unknown key %q", k)
				}
			}
		}
		if len(issues) > 0 {
			back, ok := ParseZodMessage(ZodMessage(issues))
			if !ok || len(back) != len(issues) || back[0].PathString() != issues[0].PathString() {
				t.Fatalf("zod message does not read back: %v", issues)
			}
		}
	})
}
