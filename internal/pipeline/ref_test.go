package pipeline

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// ParseRef reads StepRefPattern by hand: on these strings, and on every string made of
// their pieces, it agrees with the regular expression, and takes the same step and path.
func TestParseRefMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(StepRefPattern)
	check := func(s string) {
		t.Helper()
		r, ok := ParseRef(s)
		m := re.FindStringSubmatch(s)
		if ok != (m != nil) {
			t.Fatalf("ParseRef(%q) = %v, the pattern says %v", s, ok, m != nil)
		}
		if !ok {
			return
		}
		var path []string
		if m[2] != "" {
			path = strings.Split(m[2], ".")
		}
		if r.Step != m[1] || !slices.Equal(r.Path, path) {
			t.Fatalf("ParseRef(%q) = %+v, the pattern takes step %q path %q", s, r, m[1], m[2])
		}
	}
	for _, s := range []string{"$steps.a.result", "$steps.extract_brand.result.brand_id", "$steps.a.result.x.y.z",
		"$steps..result", "$steps.a.result.", "$steps.a.resultx", "$steps.a.b.result", "$steps.a", "steps.a.result",
		"$steps.a.result.x\n", "$steps.a\nb.result", "$steps.a.result.x\ry", "$steps.é.result.ü", "$steps.a.result..",
		"$steps.a.result.\xff", " $steps.a.result", "$steps.a.result ", "$STEPS.a.result", ""} {
		check(s)
	}
	pieces := []string{"$steps", ".", "a", "result", "\n", "x", "$"}
	var build func(prefix string, n int)
	build = func(prefix string, n int) {
		check(prefix)
		if n == 0 {
			return
		}
		for _, p := range pieces {
			build(prefix+p, n-1)
		}
	}
	build("", 6)
}
