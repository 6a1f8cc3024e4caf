package pipeline

import (
	"bytes"
	"sync"
)

// StepLocator returns a function that says where each step of p is written in s: the
// position of its `id:` value, that of its matrix step for an expansion, and the zero Pos
// for an id that p does not have or whose place is unknown. p is the pipeline Load
// returned with s (matrices expanded in place: each step, or a matrix step's expansions
// one after the other, in the file's order). The table is built at the first call, so a
// run that never asks pays nothing; the function is safe for concurrent use.
func (s *Source) StepLocator(p *Pipeline) func(id string) Pos {
	var once sync.Once
	var at map[string]Pos
	return func(id string) Pos {
		once.Do(func() { at = s.stepPositions(p) })
		return at[id]
	}
}

func (s *Source) stepPositions(p *Pipeline) map[string]Pos {
	at := make(map[string]Pos, len(p.Steps))
	if s == nil {
		return at
	}
	lines := lineStarts(s.Data)
	i := -1 // the index of the decoded step p.Steps[k] came from
	template := ""
	for k := range p.Steps {
		st := &p.Steps[k]
		name := st.ID
		if st.Origin != nil {
			name = st.Origin.Template
		}
		if st.Origin == nil || st.Origin.Template != template {
			i++
		}
		template = ""
		if st.Origin != nil {
			template = st.Origin.Template
		}
		pos := s.stepPos(i, "id", false)
		if !writes(s.Data, lines, pos, name) {
			// the steps are not the ones decoded, in order: say nothing rather than a wrong line
			return map[string]Pos{}
		}
		at[st.ID] = pos
	}
	return at
}

// lineStarts is the offset in data of each line's first byte.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// writes reports whether the line at pos holds id from pos on (quoted or not): a check
// that a position found by counting steps is the step's.
func writes(data []byte, lines []int, pos Pos, id string) bool {
	if pos.Line <= 0 || pos.Line > len(lines) || pos.Column <= 0 {
		return false
	}
	line := data[lines[pos.Line-1]:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	// yaml counts columns in characters: pos.Column-1 bytes are at most as far
	if pos.Column-1 > len(line) {
		return false
	}
	return bytes.Contains(line[pos.Column-1:], []byte(id))
}
