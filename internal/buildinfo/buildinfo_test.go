package buildinfo

import (
	"runtime"
	"testing"
)

func TestLine(t *testing.T) {
	osArch := " " + runtime.GOOS + "/" + runtime.GOARCH
	for _, c := range []struct{ v, c, d, want string }{
		{"v1.2.3", "0123456789abcdef0123", "2026-12-05T10:00:00Z", "pi v1.2.3 (0123456789ab, 2026-12-05T10:00:00Z)"},
		{"", "abc", "", "pi dev (abc, unknown date)"},
		{"v1", "", "2026-12-05", "pi v1 (unknown commit, 2026-12-05)"},
	} {
		if got := Line(c.v, c.c, c.d); got != c.want+osArch {
			t.Errorf("Line(%q, %q, %q) = %q, want %q", c.v, c.c, c.d, got, c.want+osArch)
		}
	}
}
