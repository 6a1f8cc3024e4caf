package catalog

import (
	"encoding/json"
	"os"
	"strings"
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
	f.Add("http:ü3" + strings.Repeat("u", 1100) + "!!!") // CI's fuzz found it: x/net/idna decodes 1,024 at most
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

// TestParseWebURLLongLabels: an internationalized label is encoded only up to maxIDNALabel
// characters, so that every host pi accepts parses again from its serialization (a
// 3,000-character label once did not: x/net/idna decodes at most 1,024), and a long label
// is refused before its quadratic encoding is tried. ASCII labels have no such limit.
func TestParseWebURLLongLabels(t *testing.T) {
	long := func(n int) string { return "http:ü3" + strings.Repeat("u", n) + "!!!" }
	var cjk strings.Builder
	for i := range 50000 {
		cjk.WriteRune(rune(0x4e00 + i%20000))
	}
	for _, c := range []struct {
		in   string
		want string // "" when accepted
	}{
		{long(1000), ""},
		{long(1020), "has 1025 characters"},
		{long(3000), "has 3005 characters"},
		{"http://" + cjk.String(), "has 50000 characters"},
		{"http://" + strings.Repeat(cjk.String()[:3*1000]+".", 5) + "com", "over 4096 characters"},
		{"http://ü." + strings.Repeat("a", 5000) + ".com", ""},
	} {
		u, err := ParseWebURL(c.in)
		if c.want == "" {
			if err != nil {
				t.Errorf("ParseWebURL(%.30q...): %v", c.in, err)
				continue
			}
			again, err := ParseWebURL("http://" + u.Host + "/")
			if err != nil || again.Host != u.Host {
				t.Errorf("%.30q...: host does not parse again to itself: %v", c.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseWebURL(%.30q...) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}
