package pipeline

import (
	"io"
)

// Options say how Load reads a pipeline: for which engine, with which -p overrides, and
// from where.
type Options struct {
	Mode   Mode
	Params map[string]string // the `-p NAME=VALUE` overrides
	// Data, when not nil, is the file's text, already read (a stored run's pipeline): the
	// path only names it. Otherwise the file at path is read (ReadFile), "-" from Stdin.
	Data  []byte
	Stdin io.Reader
	// Drawable also returns the pipeline when its only errors are in its steps' inputs
	// (Diagnostics.StructureSound): pi graph draws it and shows them. Never for a run.
	Drawable bool
}

// StdinName is how standard input ("-") is named in diagnostics and run records.
const StdinName = "<stdin>"

// Load is the one way a command reads a pipeline: read the file (ReadFile's limits), parse
// it, apply the params, expand its matrices and validate it for opts.Mode. It returns the
// pipeline ready to run (params substituted, matrices expanded) when it has no errors, nil
// otherwise (but see Options.Drawable); the Source of the text; and every diagnostic, sorted. The error is only for
// reading: problems of the file itself are diagnostics.
func Load(path string, opts Options) (*Pipeline, *Source, Diagnostics, error) {
	name, data := path, opts.Data
	if data == nil {
		var err error
		if path == "-" {
			name = StdinName
			data, err = ReadLimited(opts.Stdin, name)
		} else {
			data, err = ReadFile(path)
		}
		if err != nil {
			return nil, &Source{Name: name}, nil, err
		}
	}
	p, src, ds := Parse(name, data)
	if p == nil {
		return nil, src, ds, nil
	}
	x, vds, g := validateFor(p, src, opts)
	ds = append(ds, vds...)
	ds.Sort()
	if ds.HasErrors() && !(opts.Drawable && ds.StructureSound()) {
		return nil, src, ds, nil
	}
	x, err := withParams(p, x, opts.Params)
	if err != nil {
		// validation reports whatever withParams refuses: a safety net, not a path
		ds = append(ds, Diagnostic{File: name, Severity: Error, Code: CodeParamUndefined, Message: err.Error()})
		return nil, src, ds, nil
	}
	x.keepGraph(g) // params change inputs only: the ids and dependencies g was built of
	return x, src, ds, nil
}
