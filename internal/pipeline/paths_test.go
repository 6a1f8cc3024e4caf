package pipeline

import (
	"os"
	"path/filepath"
	"testing"
)

// placedByDecoding are the codes of problems decoding places itself: at text the pipeline
// does not hold (an unknown or duplicate key, a value of the wrong type, broken YAML), so
// their path names the place but the Source does not know it.
var placedByDecoding = map[Code]bool{CodeYAML: true, CodeDocuments: true, CodeEmpty: true, CodeType: true,
	CodeUnknownKey: true, CodeKey: true, CodeDuplicateKey: true, CodeNoSteps: true}

// Every diagnostic of the invalid files has a code, and its path leads to its position
// through the Source: the side table is what places them.
// LocateKey is Locate for the key that names the value at path: the position of
// `aspect_ratio:` rather than of its value (the value's own for a list item). Diagnostics
// place themselves (finish); the tests ask where a key is.
func (s *Source) LocateKey(path string) Pos { return s.locate(path, true) }

func TestDiagnosticPathsLocate(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(pipelinesDir, "invalid", "*.yaml"))
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		h := readHeader(t, data)
		_, src, ds, _ := Load("f.yaml", Options{Data: data, Mode: h.mode, Params: h.params})
		for _, d := range ds {
			if d.Code == "" {
				t.Errorf("%s: %s: no code", filepath.Base(path), d)
			}
			if d.Pos == (Pos{}) {
				continue
			}
			if src.Locate(d.Path) != d.Pos && src.LocateKey(d.Path) != d.Pos && !placedByDecoding[d.Code] {
				t.Errorf("%s: %s: path %q locates at %v / key %v", filepath.Base(path), d, d.Path, src.Locate(d.Path), src.LocateKey(d.Path))
			}
		}
	}
}
