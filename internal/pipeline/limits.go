package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Input limits (README, "Limits and guarantees"): checked before anything is parsed, so a
// wrong path (/dev/zero, a log file) or a hostile file cannot fill memory or the terminal.
const (
	// MaxFileSize is the largest pipeline file (or standard input) pi reads: room for
	// 100,000 steps and more (a chain of 100,000 shell.run steps is about 10 MB).
	MaxFileSize = 64 << 20
	// MaxItems bounds the lines and flow items ("[1,2,...]", "{a: 1, ...}") that are
	// parsed at once. YAML decoding takes some hundreds of bytes per value while a piece is
	// parsed, so this, not the size, is what bounds that memory: a 4 MiB flow list would be
	// two million values. A file with more is read a few hundred steps at a time (its steps
	// must then be one block list): the file without its steps, and each piece, must stay
	// under MaxItems, so one flow list, one mapping or one step cannot be bigger than that.
	MaxItems = 250_000
	// MaxTotalItems bounds the lines and flow items of a whole file, and so what its
	// decoded steps and their validation take (pi validate of a 100,000-step chain of
	// shell.run steps, 700,000 lines and flow items, peaks at about 320 MiB): 100,000 steps
	// of up to 10 lines and flow items each.
	MaxTotalItems = 1_000_000
	// MaxDiagnostics is how many diagnostics are shown; the rest are counted.
	MaxDiagnostics = 100
)

// ReadLimited reads a pipeline from r, refusing more than MaxFileSize bytes or
// MaxTotalItems lines and flow items (as soon as it has read that much: it reads at most
// one piece more to know), bytes that no YAML file holds (NUL: /dev/zero, a binary), and a
// file that has more lines and flow items than pi parses (checkItems).
func ReadLimited(r io.Reader, name string) ([]byte, error) { return readLimited(r, name, 0) }

// readLimited is ReadLimited reading into a buffer of size (when known) at first, up to
// 4 MiB: a bigger file may well be refused after its first megabytes (too many lines and
// flow items), which must not have taken its whole size of memory.
func readLimited(r io.Reader, name string, size int64) ([]byte, error) {
	data := make([]byte, 0, min(max(size, 0), 4<<20)+512)
	n := 0
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)] // room to read into
		}
		k, err := r.Read(data[len(data):cap(data)])
		piece := data[len(data) : len(data)+k]
		if bytes.IndexByte(piece, 0) >= 0 && !utf16(data[:len(data)+k]) {
			return nil, fmt.Errorf("%s holds NUL bytes, which no YAML file does (is it the right file?)", name)
		}
		data = data[:len(data)+k]
		n += items(piece)
		if len(data) > MaxFileSize {
			return nil, tooLarge(name)
		}
		if n > MaxTotalItems {
			return nil, fmt.Errorf("%s has more than %d lines and flow items, the most pi reads of a pipeline file (is it the right file?)", name, MaxTotalItems)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if n > MaxItems {
		if err := checkItems(name, data, n); err != nil {
			return nil, err
		}
	}
	return data, nil
}

func tooLarge(name string) error {
	return fmt.Errorf("%s is larger than %d MiB, the most pi reads of a pipeline file (is it the right file?)", name, MaxFileSize>>20)
}

// utf16 reports a file that starts with a UTF-16 byte order mark (YAML may be written in
// UTF-16, where NUL bytes are half of every ASCII character).
func utf16(data []byte) bool {
	return len(data) >= 2 && (data[0] == 0xFF && data[1] == 0xFE || data[0] == 0xFE && data[1] == 0xFF)
}

// checkItems checks a file of n lines and flow items, more than MaxItems: it is read only
// in pieces, so its steps must be a plain block list (chunker.cut), the file without them and
// each piece of chunkItems steps under MaxItems, and the whole under MaxTotalItems.
func checkItems(name string, data []byte, n int) error {
	if n > MaxTotalItems {
		return fmt.Errorf("%s has %d lines and flow items, more than the %d pi reads of a pipeline file (is it the right file?)", name, n, MaxTotalItems)
	}
	_, chunks, ok := chunker{per: chunkItems}.cut(data)
	if !ok {
		return fmt.Errorf("%s has %d lines and flow items, more than the %d pi reads of a pipeline file at once; a bigger one is read a few hundred steps at a time, which needs its steps to be one block list (a line 'steps:', then one '- ' item per step; no tabs, no second document) (is it the right file?)", name, n, MaxItems)
	}
	outside := n // the file without its steps (whose lines are blank then) is parsed at once too
	for _, c := range chunks {
		k := items(c.text)
		if k > MaxItems {
			return fmt.Errorf("%s:%d: the %d steps from this line have %d lines and flow items, more than the %d pi reads of a pipeline file at once (is it the right file?)", name, c.line, c.items, k, MaxItems)
		}
		outside -= k
	}
	if outside > MaxItems {
		return fmt.Errorf("%s has %d lines and flow items outside its steps, more than the %d pi reads of a pipeline file at once (is it the right file?)", name, outside, MaxItems)
	}
	return nil
}

// ReadFile is os.ReadFile with ReadLimited's limits; a regular file over MaxFileSize is
// refused without reading it.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		if size = fi.Size(); size > MaxFileSize {
			return nil, tooLarge(path)
		}
	}
	return readLimited(f, path, size)
}

// Capped keeps the first MaxDiagnostics diagnostics (sorted first, so errors are not lost
// behind warnings only by order) and ends with one saying how many more there were.
func (ds Diagnostics) Capped() Diagnostics {
	if len(ds) <= MaxDiagnostics {
		return ds
	}
	out := append(Diagnostics(nil), ds[:MaxDiagnostics]...)
	rest := len(ds) - MaxDiagnostics
	errs := 0
	for _, d := range ds[MaxDiagnostics:] {
		if d.Severity == Error {
			errs++
		}
	}
	sev := Warning
	if errs > 0 {
		sev = Error
	}
	return append(out, Diagnostic{File: ds[MaxDiagnostics].File, Severity: sev,
		Message: fmt.Sprintf("and %d more problems (%d errors) not shown", rest, errs)})
}

// items counts what can start a YAML value cheaply, without parsing: lines, and commas and
// brackets of flow collections (an overestimate when strings or comments hold them, which
// only matters far beyond any real pipeline).
func items(data []byte) int {
	n := 0
	for _, c := range data {
		switch c {
		case '\n', ',', '[', '{':
			n++
		}
	}
	return n
}
