package safe

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"héllo ✓ 世界", "héllo ✓ 世界"},
		{"red \x1b[31mX\x1b[0m", `red \x1b[31mX\x1b[0m`},
		{"bell\a", `bell\a`},
		{"two\nlines\r", `two\nlines\r`},
		{"tab\there", `tab\there`},
		{"del\x7f", `del\x7f`},
		{"csi \u009b2J", `csi \u009b2J`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"x\n::warning::forged", `x\n::warning::forged`},
	} {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if HasControl(Text(tt.in)) {
			t.Errorf("Text(%q) still has control characters", tt.in)
		}
	}
}

func TestLines(t *testing.T) {
	got := Lines("error\n::warning file=x::forged\n  ::error::also\r\nok :: fine\x1b]0;title\a")
	want := "error\n\\::warning file=x::forged\n  \\::error::also\\r\nok :: fine\\x1b]0;title\\a"
	if got != want {
		t.Fatalf("Lines = %q, want %q", got, want)
	}
	for _, l := range strings.Split(got, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "::") {
			t.Fatalf("line %q still starts a workflow command", l)
		}
	}
}

func TestRedactor(t *testing.T) {
	r := NewRedactor("pi_live_abcdef123456", "", "short")
	if got := r.String("API key pi_live_abcdef123456 not found; short stays"); got != "API key [redacted] not found; short stays" {
		t.Fatalf("String = %q", got)
	}
	doc := []byte(`{"error":{"message":"key pi\u005flive_abcdef123456 and pi_live_abcdef123456","list":["pi_live_abcdef123456x"],"pi_live_abcdef123456":1}}`)
	got := string(r.JSON(doc))
	if strings.Contains(got, "abcdef123456") || strings.Contains(got, `\u005f`) {
		t.Fatalf("JSON = %s", got)
	}
	v := r.Value(map[string]any{"a": []any{"x pi_live_abcdef123456"}})
	if s := v.(map[string]any)["a"].([]any)[0]; s != "x [redacted]" {
		t.Fatalf("Value = %v", v)
	}
	var none *Redactor
	if none.String("pi_live_abcdef123456") != "pi_live_abcdef123456" || none.Active() {
		t.Fatal("nil redactor must pass text through")
	}
}

func FuzzText(f *testing.F) {
	f.Add("a\x1b[31m\n\u009b\xff")
	f.Fuzz(func(t *testing.T, s string) {
		if out := Text(s); HasControl(out) {
			t.Fatalf("Text(%q) = %q has control characters", s, out)
		}
		for _, l := range strings.Split(Lines(s), "\n") {
			if HasControl(l) || strings.HasPrefix(strings.TrimLeft(l, " "), "::") {
				t.Fatalf("Lines(%q) line %q unsafe", s, l)
			}
		}
	})
}
