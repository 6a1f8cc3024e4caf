package batch

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCSV(t *testing.T) {
	rs, err := Parse("m.csv", []byte("\ufeffmarket,format\nFR,story\n\n\"DE, AT\",\"a \"\"quoted\"\"\nline\"\nUS,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rs.Columns, []string{"market", "format"}) {
		t.Fatalf("columns %q", rs.Columns)
	}
	want := []Row{
		{Index: 0, Line: 2, Params: map[string]string{"market": "FR", "format": "story"}},
		{Index: 1, Line: 4, Params: map[string]string{"market": "DE, AT", "format": "a \"quoted\"\nline"}},
		{Index: 2, Line: 6, Params: map[string]string{"market": "US", "format": ""}},
	}
	if !reflect.DeepEqual(rs.Rows, want) {
		t.Fatalf("rows\n%+v\nwant\n%+v", rs.Rows, want)
	}
}

func TestParseJSONL(t *testing.T) {
	rs, err := Parse("rows.txt", []byte("{\"market\": \"FR\", \"count\": 3}\n\n{\"market\":\"DE\",\"tags\":[\"a\", \"b\"],\"on\":true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rs.Columns, []string{"market", "count", "tags", "on"}) {
		t.Fatalf("columns %q", rs.Columns)
	}
	want := []Row{
		{Index: 0, Line: 1, Params: map[string]string{"market": "FR", "count": "3"}},
		{Index: 1, Line: 3, Params: map[string]string{"market": "DE", "tags": `["a", "b"]`, "on": "true"}},
	}
	if !reflect.DeepEqual(rs.Rows, want) {
		t.Fatalf("rows\n%+v\nwant\n%+v", rs.Rows, want)
	}
}

// Every bad rows file names its line.
func TestParseErrors(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"a.csv", "", "a.csv: empty"},
		{"a.csv", "x\n", "a.csv: no rows"},
		{"a.csv", "x,y\n1,2\n3\n", "a.csv:3: this row has a different number of fields than the header"},
		{"a.csv", "x,y\n1,2\n3,\"4\n5,6\n", "a.csv:4: extraneous or missing \" in quoted-field (column 5, in the row that starts on line 3)"},
		{"a.csv", "x,y\n1,\"2\"z\n", "a.csv:2: extraneous or missing \" in quoted-field"},
		{"a.csv", "x,,y\n1,2,3\n", "a.csv:1: column 2 has no name"},
		{"a.csv", "x,x\n1,2\n", `a.csv:1: column "x" is named twice`},
		{"a.jsonl", "{\"x\":1}\n{\"x\":\n", `a.jsonl:2: param "x": not JSON`},
		{"a.jsonl", "{\"x\":1}\n{x\n", "a.jsonl:2: not JSON"},
		{"a.jsonl", "{\"x\":1}\n\n[1,2]\n", "a.jsonl:3: want an object of params"},
		{"a.jsonl", "{\"x\":1}\n{\"x\":1,\"x\":2}\n", `a.jsonl:2: param "x" is given twice`},
		{"a.jsonl", "{\"x\":1} {\"x\":2}\n", "a.jsonl:1: one object per line"},
		{"a.jsonl", "{\"x\":1}\n\"a\"\n", "a.jsonl:2: want an object of params"},
	}
	for _, tt := range tests {
		t.Run(tt.data, func(t *testing.T) {
			_, err := Parse(tt.name, []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("a.csv", "x,y\n1,2\n\"3\n\",4\n")
	f.Add("a.jsonl", "{\"x\":1}\n{\"y\":[1,2]}\n")
	f.Fuzz(func(t *testing.T, name, data string) {
		rs, err := Parse(name, []byte(data))
		if err != nil {
			return
		}
		for _, r := range rs.Rows {
			if r.Line < 1 {
				t.Fatalf("row %d on line %d", r.Index, r.Line)
			}
			for k := range r.Params {
				found := false
				for _, c := range rs.Columns {
					found = found || c == k
				}
				if !found {
					t.Fatalf("param %q is no column of %q", k, rs.Columns)
				}
			}
		}
	})
}
