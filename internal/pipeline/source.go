package pipeline

import (
	"strconv"
	"strings"
)

// Source is the text a pipeline was read from and where each of its values is written: a
// side table keyed by path, so that the pipeline's types hold data only. A path names a
// value from the top of the file, its parts joined by dots: "steps.3.input.output.aspect_ratio"
// (steps are counted from 0 as the file lists them), "params.url", "steps". Every value
// of a step is known; outside the steps, the top-level keys and each param.
//
// The table is compact (one entry of 20 bytes per value, paths interned once for the whole
// file), since a file may hold 100,000 steps.
type Source struct {
	Name string // the file name, "<stdin>" for standard input
	Data []byte // the text, for showing a diagnostic's line

	paths   pathTable
	top     []srcEntry // outside the steps
	steps   []stepSpan // by index in Pipeline.Steps
	entries []srcEntry // the steps', each step's in one run

	// What decoding already reported, so that validation does not report it again.
	reported      map[int]fieldSet // by step index (few steps have any)
	stepsReported bool             // the steps list itself
}

// loc is a compact Pos.
type loc struct{ line, col int32 }

func (l loc) pos() Pos { return Pos{Line: int(l.line), Column: int(l.col)} }

func locOf(p Pos) loc { return loc{int32(p.Line), int32(p.Column)} }

// srcEntry is where one value is written, and the key that names it (zero for a list item).
type srcEntry struct {
	path     uint32 // in Source.paths: from the top of the file, or of the step
	val, key loc
}

// stepSpan is one step of the pipeline: its place in the file's steps list and its
// entries, from first up to the next step's first.
type stepSpan struct {
	item  int32 // index in the file's steps list (items that are not steps are not steps)
	first int32
}

// pathTable interns paths: each is its parent's id and one more part.
type pathTable struct {
	ids   map[pathKey]uint32
	names []string // by id; 0 is the empty path (the file's, or a step's, top)
}

type pathKey struct {
	parent uint32
	part   string
}

// child returns the id of parent's path with part added, interning it.
func (t *pathTable) child(parent uint32, part string) uint32 {
	if id, ok := t.ids[pathKey{parent, part}]; ok {
		return id
	}
	if t.ids == nil {
		t.ids = map[pathKey]uint32{}
		t.names = []string{""}
	}
	part = strings.Clone(part) // not the decoder's buffers
	id := uint32(len(t.names))
	t.ids[pathKey{parent, part}] = id
	t.names = append(t.names, joinPath(t.names[parent], part))
	return id
}

// lookup returns the ids of path's known prefixes, shortest first ("" included).
func (t *pathTable) lookup(path string) []uint32 {
	out := []uint32{0}
	if path == "" {
		return out
	}
	id := uint32(0)
	for part := range strings.SplitSeq(path, ".") {
		next, ok := t.ids[pathKey{id, part}]
		if !ok {
			break
		}
		id = next
		out = append(out, id)
	}
	return out
}

func (t *pathTable) name(id uint32) string {
	if int(id) < len(t.names) {
		return t.names[id]
	}
	return ""
}

func joinPath(parent, part string) string {
	if parent == "" {
		return part
	}
	return parent + "." + part
}

// Locate returns where the value at path is written, or the innermost value around it
// whose place is known (the zero Pos when none is).
func (s *Source) Locate(path string) Pos { return s.locate(path, false) }

func (s *Source) locate(path string, key bool) Pos {
	if s == nil {
		return Pos{}
	}
	rest, ok := strings.CutPrefix(path, "steps.")
	if !ok {
		return s.find(s.top, path, key)
	}
	itemText, rel, _ := strings.Cut(rest, ".")
	item, err := strconv.Atoi(itemText)
	if err != nil {
		return s.find(s.top, "steps", key)
	}
	for i := range s.steps { // a binary search would do; diagnostics are few
		if int(s.steps[i].item) == item {
			return s.stepPos(i, rel, key)
		}
	}
	return s.find(s.top, "steps", key)
}

// stepPos is Locate inside step i (an index of Pipeline.Steps), at a path from the step.
func (s *Source) stepPos(i int, rel string, key bool) Pos {
	if s == nil || i < 0 || i >= len(s.steps) {
		return Pos{}
	}
	return s.find(s.stepEntries(i), rel, key)
}

// known reports whether step i has a value at rel.
func (s *Source) known(i int, rel string) bool {
	if s == nil || i < 0 || i >= len(s.steps) {
		return false
	}
	ids := s.paths.lookup(rel)
	if len(ids) != len(strings.Split(rel, "."))+1 && rel != "" {
		return false
	}
	_, ok := entryOf(s.stepEntries(i), ids[len(ids)-1])
	return ok
}

// innermost returns the longest prefix of rel (rel itself included) that step i has a
// value at, and whether there is one.
func (s *Source) innermost(i int, rel string) (string, bool) {
	if s == nil || i < 0 || i >= len(s.steps) {
		return "", false
	}
	ids := s.paths.lookup(rel)
	entries := s.stepEntries(i)
	for k := len(ids) - 1; k >= 0; k-- {
		if _, ok := entryOf(entries, ids[k]); ok {
			return s.paths.name(ids[k]), true
		}
	}
	return "", false
}

func (s *Source) stepEntries(i int) []srcEntry {
	end := len(s.entries)
	if i+1 < len(s.steps) {
		end = int(s.steps[i+1].first)
	}
	return s.entries[s.steps[i].first:end]
}

// find walks up path until a value of entries is known.
func (s *Source) find(entries []srcEntry, path string, key bool) Pos {
	ids := s.paths.lookup(path)
	for k := len(ids) - 1; k >= 0; k-- {
		if e, ok := entryOf(entries, ids[k]); ok {
			if key && e.key != (loc{}) {
				return e.key.pos()
			}
			return e.val.pos()
		}
	}
	return Pos{}
}

func entryOf(entries []srcEntry, id uint32) (srcEntry, bool) {
	for _, e := range entries {
		if e.path == id {
			return e, true
		}
	}
	return srcEntry{}, false
}

// item is the index in the file's steps list of step i.
func (s *Source) item(i int) int {
	if s == nil || i < 0 || i >= len(s.steps) {
		return i
	}
	return int(s.steps[i].item)
}

// wasReported reports whether decoding reported a problem with field f of step i.
func (s *Source) wasReported(i int, f fieldSet) bool {
	return s != nil && s.reported[i].has(f)
}

func (s *Source) markReported(i int, f fieldSet) {
	if s.reported == nil {
		s.reported = map[int]fieldSet{}
	}
	s.reported[i] |= f
}

// record notes where the value at path (an id) is written: in the current step when one
// is being decoded, else at the top.
func (s *Source) record(inStep bool, path uint32, val, key Pos) {
	e := srcEntry{path: path, val: locOf(val), key: locOf(key)}
	if inStep {
		s.entries = append(s.entries, e)
		return
	}
	s.top = append(s.top, e)
}

// setTop changes where the value at a top-level path is written.
func (s *Source) setTop(path string, val Pos) {
	ids := s.paths.lookup(path)
	for i := range s.top {
		if s.top[i].path == ids[len(ids)-1] {
			s.top[i].val = locOf(val)
		}
	}
}

// beginStep starts the entries of the next step, item of the file's steps list.
func (s *Source) beginStep(item int) {
	s.steps = append(s.steps, stepSpan{item: int32(item), first: int32(len(s.entries))})
}
