//go:build linux

package reaper

import (
	"os"
	"path/filepath"
	"testing"
)

// environHas finds an entry exactly (not a prefix, not a suffix of another), also when it
// spans two reads of a buffer shorter than the environment.
func TestEnvironHas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "environ")
	env := "A=1\x00PI_STEP_TREE=abc1\x00LONG=" + string(make([]byte, 100)) + "\x00PI_STEP_TREE=abc\x00Z=9\x00"
	if err := os.WriteFile(path, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{7, 16, 64, 4096} {
		buf := make([]byte, size)
		for want, found := range map[string]bool{
			"PI_STEP_TREE=abc": true, "PI_STEP_TREE=abc1": true, "Z=9": true, "A=1": true,
			"PI_STEP_TREE=ab": false, "TREE=abc": false, "Z=": false,
		} {
			if got, _ := environHas([]byte(path), buf, []byte(want)); got != found {
				t.Errorf("buffer %d: environHas(%q) = %v, want %v", size, want, got, found)
			}
		}
	}
	if found, empty := environHas([]byte(filepath.Join(t.TempDir(), "none")), make([]byte, 16), []byte("A=1")); found || empty {
		t.Error("a missing file holds nothing and is not an empty environment")
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o600)
	if found, isEmpty := environHas([]byte(empty), make([]byte, 16), []byte("A=1")); found || !isEmpty {
		t.Error("an empty environment is reported empty")
	}
	if zombie([]byte("/proc/self/stat")) {
		t.Error("this process is not a zombie")
	}
	if !zombie([]byte("/proc/0/stat")) {
		t.Error("a process that is not there counts as gone")
	}
}
