package catalog

import (
	"encoding/json"
	"os"
	"testing"
)

// TestParseWebURLGolden compares ParseWebURL with Node's `new URL(s)` (the WHATWG parser
// zod's z.string().url() calls: zod v3 types.js, check "url") on every input of
// testdata/weburl.json, made once with node v20 by testdata/weburl-golden.mjs.
func TestParseWebURLGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/weburl.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		In   string `json:"in"`
		OK   bool   `json:"ok"`
		Host string `json:"host"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 500 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		u, err := ParseWebURL(c.In)
		switch {
		case c.OK && err != nil:
			t.Errorf("ParseWebURL(%q): %v; node accepts it (host %q)", c.In, err, c.Host)
		case !c.OK && err == nil:
			t.Errorf("ParseWebURL(%q) = host %q; node refuses it", c.In, u.Host)
		case c.OK && u.Host != c.Host:
			t.Errorf("ParseWebURL(%q) host = %q, node %q", c.In, u.Host, c.Host)
		}
	}
}
