package batch

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/safe"
	"github.com/pi-cli/pi/internal/store"
)

// Summary is a batch as its summary shows it (the table, and -o json).
type Summary struct {
	ID       string         `json:"batch_id"`
	File     string         `json:"file"`
	RowsFile string         `json:"rows_file"`
	Shard    string         `json:"shard,omitempty"`
	ExitCode int            `json:"exit_code"`
	Counts   map[Status]int `json:"counts"`
	Rows     []RowSummary   `json:"rows"`
}

// RowSummary is one row of the summary.
type RowSummary struct {
	Row        int               `json:"row"`  // its number among the file's rows, from 1
	Line       int               `json:"line"` // its line in the file
	Params     map[string]string `json:"params"`
	Status     Status            `json:"status"`
	ExitCode   int               `json:"exit_code"`
	RunID      string            `json:"run_id,omitempty"`
	Error      string            `json:"error,omitempty"`
	DurationMS int64             `json:"duration_ms"`

	keys string // the params, in the file's column order
}

// Summarize is the summary of batch b whose rows are rows: the exit code is the worst
// row's (Worst); a row that has not ended counts as interrupted.
func Summarize(b *store.Batch, rows []store.BatchRow) Summary {
	s := Summary{ID: b.ID, File: b.File, RowsFile: b.RowsFile, Shard: b.Shard, Counts: map[Status]int{}}
	codes := make([]int, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		st, code := Status(r.Status), r.Code
		if st == Pending || st == Running {
			code = codeInterrupted
		}
		codes = append(codes, code)
		s.Counts[st]++
		rs := RowOf(b, r)
		rs.ExitCode = code
		s.Rows = append(s.Rows, rs)
	}
	s.ExitCode = Worst(codes)
	return s
}

// RowOf is row r of batch b as the summary shows it.
func RowOf(b *store.Batch, r *store.BatchRow) RowSummary {
	rs := RowSummary{Row: r.Index + 1, Line: r.Line, Params: r.Params, Status: Status(r.Status), ExitCode: r.Code, RunID: r.RunID,
		Error: r.Error, keys: KeyParams(b.Columns, r.Params)}
	if !r.StartedAt.IsZero() && !r.EndedAt.IsZero() {
		rs.DurationMS = r.EndedAt.Sub(r.StartedAt).Milliseconds()
	}
	return rs
}

// maxKeyParams is the most of a PARAMS cell the table shows.
const maxKeyParams = 48

// KeyParams is a row's params as the table shows them: name=value in the file's column
// order, escaped and cut to maxKeyParams.
func KeyParams(columns []string, params map[string]string) string {
	var parts []string
	for _, c := range columns {
		if v, ok := params[c]; ok {
			parts = append(parts, c+"="+v)
		}
	}
	s := safe.Text(strings.Join(parts, " "))
	if utf8.RuneCountInString(s) > maxKeyParams {
		s = string([]rune(s)[:maxKeyParams-1]) + "…"
	}
	return s
}

// WriteTable writes the summary as a table: ROW, PARAMS, STATUS, RUN, DURATION (a row
// that did not end has none), then a line of counts and the exit code.
func (s Summary) WriteTable(w io.Writer) error {
	cells := [][]string{{"ROW", "PARAMS", "STATUS", "RUN", "DURATION"}}
	for _, r := range s.Rows {
		dur := "-"
		if r.Status != Pending && r.Status != Running {
			dur = render.Duration(time.Duration(r.DurationMS)*time.Millisecond, true)
		}
		run := r.RunID
		if run == "" {
			run = "-"
		}
		cells = append(cells, []string{fmt.Sprint(r.Row), r.keys, string(r.Status), safe.Text(run), dur})
	}
	widths := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, row := range cells {
		for i, c := range row {
			if i == len(row)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "batch %s: %s (exit %d)\n", s.ID, s.countsText(), s.ExitCode)
	_, err := io.WriteString(w, b.String())
	return err
}

// countsText is "18 completed, 2 failed", in the order of the statuses.
func (s Summary) countsText() string {
	var parts []string
	for _, st := range []Status{Completed, Failed, Invalid, Cancelled, Errored, TimedOut, Interrupted, Running, Pending} {
		if n := s.Counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	return strings.Join(parts, ", ")
}

// WriteJSON writes the summary as one JSON object (indented, or on one line for -o
// jsonl), every string escaped as -o json's.
func (s Summary) WriteJSON(w io.Writer, indent bool) error {
	return writeJSON(w, s, indent)
}

// WriteJSON writes the row as one line of JSON (-o jsonl, as each row ends).
func (r RowSummary) WriteJSON(w io.Writer) error { return writeJSON(w, r, false) }

func writeJSON(w io.Writer, v any, indent bool) error {
	var b []byte
	var err error
	if indent {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(append(safe.JSON(b), '\n'))
	return err
}

// JobSummary is the batch's section of the GitHub job summary: its rows, each with its run
// (whose own section follows it there).
func (s Summary) JobSummary() render.SummaryTable {
	t := render.SummaryTable{
		Title:  fmt.Sprintf("Batch %s: %s (exit %d)", s.ID, s.countsText(), s.ExitCode),
		Text:   fmt.Sprintf("%s once per row of %s", s.File, s.RowsFile),
		Header: []string{"Row", "Params", "Status", "Run", "Duration"},
	}
	if s.Shard != "" {
		t.Text += ", shard " + s.Shard
	}
	for _, r := range s.Rows {
		dur := "-"
		if r.Status != Pending && r.Status != Running {
			dur = render.Duration(time.Duration(r.DurationMS)*time.Millisecond, true)
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(r.Row), r.keys, string(r.Status), r.RunID, dur})
	}
	return t
}
