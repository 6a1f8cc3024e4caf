// Package batch owns `pi run FILE --each ROWS`: reading the rows (CSV or JSONL), taking a
// shard of them, choosing which rows a resume runs, running the rows a few at a time with
// their ledger (store.Batch) kept up to date, the worst row's exit code and the summary
// table of the rows.
package batch

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/pi-cli/pi/internal/safe"
)

// Row is one row of a rows file: its params, by name.
type Row struct {
	Index  int // its place among the file's rows, from 0
	Line   int // the line it starts on
	Params map[string]string
}

// Rows is a rows file read: its param names, in the file's order, and its rows.
type Rows struct {
	Name    string
	Columns []string
	Rows    []Row
}

// MaxRows is the most rows a file may hold: each is a run.
const MaxRows = 100_000

// Parse reads a rows file: CSV whose header names the params (fields quoted as
// encoding/csv reads them), or JSONL, one object of params per line. A file named *.jsonl
// or *.ndjson is JSONL, *.csv is CSV; any other is JSONL when its first character is '{'.
// Every problem names the file and its line.
func Parse(name string, data []byte) (*Rows, error) {
	var rs *Rows
	var err error
	if isJSONL(name, data) {
		rs, err = parseJSONL(name, data)
	} else {
		rs, err = parseCSV(name, data)
	}
	if err != nil {
		return nil, err
	}
	if len(rs.Rows) == 0 {
		return nil, fmt.Errorf("%s: no rows: the batch would run nothing", safe.Text(name))
	}
	if len(rs.Rows) > MaxRows {
		return nil, fmt.Errorf("%s: %d rows, more than the %d a batch takes: split the file", safe.Text(name), len(rs.Rows), MaxRows)
	}
	return rs, nil
}

func isJSONL(name string, data []byte) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson":
		return true
	case ".csv":
		return false
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\ufeff")), " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

func parseCSV(name string, data []byte) (*Rows, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	where := safe.Text(name)
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty: want a header line of param names, then one line per row", where)
	}
	if err != nil {
		return nil, csvError(where, err)
	}
	rs := &Rows{Name: name}
	seen := map[string]bool{}
	for i, col := range header {
		col = strings.TrimSpace(col)
		switch {
		case col == "":
			return nil, fmt.Errorf("%s:1: column %d has no name: the header names the params", where, i+1)
		case seen[col]:
			return nil, fmt.Errorf("%s:1: column %q is named twice", where, safe.Text(col))
		}
		seen[col] = true
		rs.Columns = append(rs.Columns, col)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(where, err)
		}
		line, _ := r.FieldPos(0)
		row := Row{Index: len(rs.Rows), Line: line, Params: make(map[string]string, len(rec))}
		for i, v := range rec {
			row.Params[rs.Columns[i]] = v
		}
		rs.Rows = append(rs.Rows, row)
		if len(rs.Rows) > MaxRows {
			break
		}
	}
	return rs, nil
}

// csvError is encoding/csv's error as file:line: what is wrong.
func csvError(where string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrFieldCount):
			return fmt.Errorf("%s:%d: this row has a different number of fields than the header", where, pe.Line)
		case pe.StartLine != pe.Line:
			return fmt.Errorf("%s:%d: %v (column %d, in the row that starts on line %d)", where, pe.Line, pe.Err, pe.Column, pe.StartLine)
		}
		return fmt.Errorf("%s:%d: %v (column %d)", where, pe.Line, pe.Err, pe.Column)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// maxJSONLLine is the longest line of a JSONL rows file.
const maxJSONLLine = 1 << 20

func parseJSONL(name string, data []byte) (*Rows, error) {
	where := safe.Text(name)
	sc := bufio.NewScanner(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	sc.Buffer(nil, maxJSONLLine)
	rs := &Rows{Name: name}
	seen := map[string]bool{}
	for n := 1; sc.Scan(); n++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		params, keys, err := jsonRow(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", where, n, err)
		}
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				rs.Columns = append(rs.Columns, k)
			}
		}
		rs.Rows = append(rs.Rows, Row{Index: len(rs.Rows), Line: n, Params: params})
		if len(rs.Rows) > MaxRows {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v (a line may hold at most %d bytes)", where, err, maxJSONLLine)
	}
	return rs, nil
}

// jsonRow reads one JSONL line: an object whose values become params as -p would give
// them: a string as it is, anything else as its JSON text (3, true, ["a","b"]), which a
// param of that type reads back.
func jsonRow(text []byte) (map[string]string, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("not JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("want an object of params ({\"name\": \"value\"}), not %s", safe.Text(string(text[:min(len(text), 40)])))
	}
	params := map[string]string{}
	var keys []string
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("not JSON: %v", err)
		}
		k := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("param %q: not JSON: %v", safe.Text(k), err)
		}
		if _, dup := params[k]; dup {
			return nil, nil, fmt.Errorf("param %q is given twice", safe.Text(k))
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		params[k] = s
		keys = append(keys, k)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("not JSON: %v", err)
	}
	if dec.More() {
		return nil, nil, errors.New("one object per line: something follows the object")
	}
	return params, keys, nil
}
