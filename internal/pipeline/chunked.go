package pipeline

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// chunkedMin is the size from which Parse decodes a file's steps one at a time. yaml.v3
// builds the node tree of a whole document before anything reads it, about 3 KB per step:
// a file of 100,000 steps would need 300 MB of nodes at once. Decoded one step at a time
// the nodes of a step are garbage as soon as the step is decoded.
const chunkedMin = 256 << 10

// chunkItems is how many steps are parsed at once: enough that a parser's set-up is paid
// rarely, few enough that their nodes are a small part of the decoded steps.
const chunkItems = 256

// stepChunk is the text of consecutive items of the steps list, cut out of the file.
type stepChunk struct {
	text  []byte
	line  int // the file's line of the chunk's first line, 1-based
	items int // how many items the text holds
}

// chunker parses a big file whose steps are a plain block list (the common shape of a
// generated pipeline) a few steps at a time: the file without its step items is parsed as
// usual, then each piece of per items alone, its positions moved to where it stands in the
// file. It gives the whole parse's pipeline, Source and (no) diagnostics, or declines.
type chunker struct {
	per int // steps parsed at once
	// must is for a file too big to be parsed whole (more than MaxItems lines and flow
	// items, checkItems having found it of that shape): its diagnostics are its own, a piece
	// that does not parse alone among them. Otherwise the chunker declines (false) when it
	// cannot parse with certainty, and then nothing it did counts: the file is not of that
	// shape (flow style, several documents, tabs), a piece does not parse alone (an alias of
	// an anchor elsewhere), or anything at all is reported. The caller then parses the file
	// whole, so the pipeline and the diagnostics are exactly those of the whole parse.
	must bool
}

func (c chunker) parse(name string, data []byte, written int) (*Pipeline, *Source, []problem, bool) {
	rest, chunks, ok := c.cut(data)
	if !ok {
		return nil, nil, nil, false
	}
	d := newDecoder(name, data, written)
	p := d.parse(name, rest)
	if !c.must && (p == nil || len(d.probs.list) > 0) {
		return nil, nil, nil, false
	}
	if p != nil && !c.decodeSteps(d, p, chunks) {
		return nil, nil, nil, false
	}
	if !c.must && len(d.probs.list) > 0 {
		return nil, nil, nil, false
	}
	return p, d.src, d.probs.result(), true
}

// cut finds the top-level `steps:` key followed by a block list and returns the file
// with the list's lines blanked (so every other line keeps its number) and the list's
// items. ok is false for any file it is not sure to cut right.
func (c chunker) cut(data []byte) (rest []byte, chunks []stepChunk, ok bool) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	stepsAt := -1
	for i, l := range lines {
		if len(l) == 0 || l[0] == ' ' || l[0] == '\n' || l[0] == '\r' || l[0] == '#' {
			continue
		}
		switch {
		case l[0] == '\t' || l[0] == '%' || bytes.HasPrefix(l, []byte("---")) || bytes.HasPrefix(l, []byte("...")):
			return nil, nil, false // directives, documents, tabs: the whole parse decides
		case isStepsKey(l):
			if stepsAt >= 0 {
				return nil, nil, false // a duplicate key is the whole parse's to report
			}
			stepsAt = i
		}
	}
	if stepsAt < 0 {
		return nil, nil, false
	}
	// The list: from the line after `steps:` to the next line at column 0 that is not
	// blank, a comment or (for a list at column 0) an item.
	indent := -1
	end := len(lines)
	var starts []int
	for i := stepsAt + 1; i < len(lines); i++ {
		l := lines[i]
		trimmed := bytes.TrimLeft(l, " ")
		if len(bytes.TrimSpace(trimmed)) == 0 || trimmed[0] == '#' {
			continue
		}
		col := len(l) - len(trimmed)
		if trimmed[0] == '\t' {
			return nil, nil, false
		}
		if indent < 0 {
			if !isItemStart(trimmed) {
				return nil, nil, false // not a block list
			}
			indent = col
		}
		if col == 0 && !(indent == 0 && isItemStart(trimmed)) {
			end = i
			break
		}
		switch {
		case col == indent && isItemStart(trimmed):
			starts = append(starts, i)
		case col <= indent:
			return nil, nil, false // something at the list's own level that is not an item
		}
	}
	if len(starts) == 0 {
		return nil, nil, false
	}
	// Blank lines and comments between the last item and the next key belong to no item.
	for k := 0; k < len(starts); k += c.per {
		n := min(c.per, len(starts)-k)
		e := end
		if k+n < len(starts) {
			e = starts[k+n]
		}
		from := starts[k]
		chunks = append(chunks, stepChunk{text: bytes.Join(lines[from:e], nil), line: from + 1, items: n})
	}
	out := make([]byte, 0, len(data)/8)
	for i, l := range lines {
		switch {
		case i == stepsAt:
			out = append(out, "steps: []\n"...)
		case i > stepsAt && i < end:
			out = append(out, '\n')
		default:
			out = append(out, l...)
		}
	}
	return out, chunks, true
}

// isStepsKey reports a top-level line `steps:` with nothing after it but a comment.
func isStepsKey(l []byte) bool {
	rest, ok := bytes.CutPrefix(l, []byte("steps:"))
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

// isItemStart reports a line (indentation removed) that starts a block list item.
func isItemStart(t []byte) bool {
	return len(t) >= 2 && t[0] == '-' && (t[1] == ' ' || t[1] == '\n' || t[1] == '\r')
}

// decodeSteps decodes the steps of the pieces in place of the empty list the file without
// them has; false when one does not read alone (unless must: then that is reported).
func (c chunker) decodeSteps(d *decoder, p *Pipeline, chunks []stepChunk) bool {
	total := 0
	for _, ch := range chunks {
		total += ch.items
	}
	p.Steps = make([]Step, 0, total)
	index := 0 // of the item, counting those that are not steps
	for k, ch := range chunks {
		list, err := ch.parse()
		if list == nil {
			if !c.must {
				return false
			}
			c.report(d, ch, err)
			d.src.stepsReported = true
			index += ch.items
			chunks[k] = stepChunk{}
			continue
		}
		if k == 0 {
			d.src.setTop("steps", pos(list)) // the list is where its first item's dash is
		}
		for _, item := range list.Content {
			if n := resolve(item); (n == nil || n.Kind != yaml.MappingNode) && !c.must {
				return false
			}
			d.stepItem(p, item, index)
			index++
		}
		chunks[k] = stepChunk{} // its text and nodes are not needed again
	}
	return true
}

// parse reads the chunk's items, at their lines in the file: nil when they do not read
// alone as a list of c.items (with the YAML error, when that is why).
func (c stepChunk) parse() (*yaml.Node, error) {
	var doc yaml.Node
	err := yaml.Unmarshal(c.text, &doc)
	if err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.SequenceNode || len(doc.Content[0].Content) != c.items {
		return nil, nil
	}
	list := doc.Content[0]
	moveLines(list, c.line-1)
	return list, nil
}

// report says that the steps of ch do not parse alone, at the line the YAML error names
// (or the first of ch).
func (c chunker) report(d *decoder, ch stepChunk, err error) {
	at := Pos{Line: ch.line, Column: 1}
	msg := fmt.Sprintf("these steps do not read on their own (a file of more than %d lines and flow items is read %d steps at a time)", MaxItems, c.per)
	if err != nil {
		msg = err.Error()
		if m := yamlLinePattern().FindStringSubmatch(msg); m != nil {
			if n, aerr := strconv.Atoi(m[1]); aerr == nil {
				at.Line = ch.line + n - 1
			}
			msg = msg[len(m[0]):]
		}
		msg = "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")
	}
	if strings.Contains(msg, "anchor") {
		msg += fmt.Sprintf(" (a file of more than %d lines and flow items is read %d steps at a time: an alias can only refer to an anchor of its own step)", MaxItems, c.per)
	}
	d.errorf(d.clamp(at), CodeChunk, "steps", "%s", msg)
}

// moveLines adds delta to the line of n and of everything below it.
func moveLines(n *yaml.Node, delta int) {
	n.Line += delta
	for _, c := range n.Content {
		moveLines(c, delta)
	}
}
