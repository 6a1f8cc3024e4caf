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

// FuzzParseWebURL: whatever the string, ParseWebURL answers without panicking; an accepted
// URL's host is serialized (no forbidden code point, not percent-decodable further for a
// domain) and parses again to itself.
func FuzzParseWebURL(f *testing.F) {
	for _, s := range []string{"https://example.com", "http://[::1]:80/x", "http://0x7f.1", "http://münchen.de",
		"foo://a%zz", "file://c:/x", "https://xn--abc-.ü", "http://1.2.3.4.5", "https://a<b.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseWebURL(s)
		if err != nil || !u.HasHost || u.Host == "" {
			return
		}
		if !isSpecialScheme(u.Scheme) || u.Scheme == "file" {
			return
		}
		again, err := ParseWebURL(u.Scheme + "://" + u.Host + "/")
		if err != nil || again.Host != u.Host {
			t.Fatalf("%q: host %q parses again to %+v, %v", s, u.Host, again, err)
		}
	})
}
