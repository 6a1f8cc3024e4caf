package pipeline

import (
	"fmt"
	"io"
	"os"
)

// Input limits (README, "Limits and guarantees"): checked before anything is parsed, so a
// wrong path (/dev/zero, a log file) or a hostile file cannot fill memory or the terminal.
const (
	// MaxFileSize is the largest pipeline file (or standard input) pi reads.
	MaxFileSize = 4 << 20
	// MaxItems bounds the lines and flow items ("[1,2,...]", "{a: 1, ...}") of a file read
	// from disk or stdin. YAML decoding takes some hundreds of bytes per value, so this,
	// not the size, is what bounds memory: a 4 MiB flow list would be two million values.
	// A 20,000-step pipeline has about 120,000.
	MaxItems = 250_000
	// MaxDiagnostics is how many diagnostics are shown; the rest are counted.
	MaxDiagnostics = 100
)

// ReadLimited reads a pipeline from r, refusing more than MaxFileSize bytes (it reads at
// most one byte more to know).
func ReadLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d MiB, the most pi reads of a pipeline file (is it the right file?)", name, MaxFileSize>>20)
	}
	if n := items(data); n > MaxItems {
		return nil, fmt.Errorf("%s has %d lines and flow items, more than the %d pi reads of a pipeline file (is it the right file?)", name, n, MaxItems)
	}
	return data, nil
}

// ReadFile is os.ReadFile with ReadLimited's limit.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadLimited(f, path)
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
