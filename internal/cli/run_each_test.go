package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/batch"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/sandbox"
	"github.com/pi-cli/pi/internal/store"
)

// eachFactory is a Factory over buffers whose environment is env.
func eachFactory(env map[string]string) (*Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := render.Test()
	ios.SetGetenv(func(k string) string { return env[k] })
	return &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}, out, errOut
}

// runEachJSON runs pi with args (and -o json) and returns its exit code and the batch's
// summary.
func runEachJSON(t *testing.T, env map[string]string, args ...string) (int, batch.Summary, string) {
	t.Helper()
	f, out, errOut := eachFactory(env)
	code := Execute(context.Background(), f, append(args, "-o", "json"))
	var sum batch.Summary
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
			t.Fatalf("pi %s: stdout is no summary (%v):\n%s\n%s", strings.Join(args, " "), err, out, errOut)
		}
	}
	return code, sum, errOut.String()
}

// eachPipeline's step appends its row's n to ran.log and fails unless ok-N exists.
const eachPipeline = `params:
  n: "0"
steps:
  - id: work
    action: shell.run
    retry: {max_attempts: 1}
    input: {script: "echo ${params.n} >> ran.log; test -f ok-${params.n}"}
`

// ranRows is how many times each row's step ran, by n.
func ranRows(t *testing.T, dir string) map[string]int {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, "ran.log"))
	m := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		m[l]++
	}
	return m
}

// The batch exits with its worst row's code; --resume --failed runs again only the rows
// that failed, each row's run is recorded with the batch's id, and once every row
// completed the batch exits 0.
func TestEachFailedRerunsOnlyFailedRows(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := writePipeline(t, dir, eachPipeline)
	rows := writeFile(t, dir, "rows.csv", "n\n1\n2\n3\n4\n5\n")
	for _, n := range []string{"1", "3", "5"} {
		writeFile(t, dir, "ok-"+n, "")
	}
	env := map[string]string{"XDG_STATE_HOME": dir}
	code, sum, errOut := runEachJSON(t, env, "run", file, "--local", "--each", rows, "--max-parallel", "2")
	if code != ExitRunFailed || sum.ExitCode != ExitRunFailed || sum.Counts[batch.Completed] != 3 || sum.Counts[batch.Failed] != 2 {
		t.Fatalf("first run: exit %d, summary %+v\n%s", code, sum, errOut)
	}
	if !strings.Contains(errOut, "batch "+sum.ID+" started") || !strings.Contains(errOut, "pi run --resume "+sum.ID+" --failed") {
		t.Errorf("the batch id and how to go on are not said:\n%s", errOut)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, r := range sum.Rows {
		rec, err := st.Get(context.Background(), r.RunID)
		if err != nil || rec.BatchID != sum.ID || rec.Params["n"] != r.Params["n"] {
			t.Fatalf("row %d's run %s: %+v, %v", r.Row, r.RunID, rec, err)
		}
	}
	writeFile(t, dir, "ok-2", "")
	writeFile(t, dir, "ok-4", "")
	code, again, errOut := runEachJSON(t, env, "run", "--resume", sum.ID[:8], "--failed")
	if code != ExitOK || again.Counts[batch.Completed] != 5 {
		t.Fatalf("resume --failed: exit %d, %+v\n%s", code, again, errOut)
	}
	if got, want := ranRows(t, dir), map[string]int{"1": 1, "2": 2, "3": 1, "4": 2, "5": 1}; !equalCounts(got, want) {
		t.Fatalf("rows ran %v times, want %v", got, want)
	}
	// The rows run where the batch started them: --sandbox on a --local batch is refused,
	// not ignored.
	if code, _, errOut := runEachJSON(t, env, "run", "--resume", sum.ID, "--sandbox"); code != ExitUsage || !strings.Contains(errOut, "runs its rows local, as it started: drop --sandbox") {
		t.Fatalf("resume --sandbox of a local batch: exit %d\n%s", code, errOut)
	}
	// Nothing is left: a resume runs no row.
	if code, _, errOut := runEachJSON(t, env, "run", "--resume", sum.ID); code != ExitOK || !strings.Contains(errOut, "0 of its 5 rows") {
		t.Fatalf("resume of a completed batch: exit %d\n%s", code, errOut)
	}
	if len(ranRows(t, dir)) != 5 || ranRows(t, dir)["1"] != 1 {
		t.Fatalf("a completed batch's resume ran rows: %v", ranRows(t, dir))
	}
	// pi runs list --batch lists the batch's rows' runs, not a run of the file alone
	if code := Execute(context.Background(), func() *Factory { f, _, _ := eachFactory(env); return f }(), []string{"run", file, "--local", "-p", "n=1", "-q"}); code != ExitOK {
		t.Fatalf("a run outside the batch: exit %d", code)
	}
	lf, lout, lerr := eachFactory(env)
	var listed []listRow
	if code := Execute(context.Background(), lf, []string{"runs", "list", "--batch", sum.ID[:8], "-o", "json"}); code != ExitOK || json.Unmarshal(lout.Bytes(), &listed) != nil || len(listed) != 5 {
		t.Fatalf("runs list --batch: exit %d, %d runs\n%s%s", code, len(listed), lout, lerr)
	}
	for _, r := range listed {
		if r.BatchID != sum.ID {
			t.Errorf("runs list --batch listed %s of batch %q", r.ID, r.BatchID)
		}
	}
	if _, _, errOut := runEachJSON(t, env, "runs", "list", "--batch", "ffffffff"); !strings.Contains(errOut, "--batch ffffffff: no batch recorded") {
		t.Errorf("runs list --batch of no batch: %s", errOut)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Two shards of one file run every row exactly once between them.
func TestEachShardsSplitTheRows(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := writePipeline(t, dir, eachPipeline)
	var csv strings.Builder
	csv.WriteString("n\n")
	for i := range 12 {
		csv.WriteString(string(rune('a'+i)) + "\n")
		writeFile(t, dir, "ok-"+string(rune('a'+i)), "")
	}
	rows := writeFile(t, dir, "rows.csv", csv.String())
	env := map[string]string{"XDG_STATE_HOME": dir}
	var all []int
	for _, shard := range []string{"1/2", "2/2"} {
		code, sum, errOut := runEachJSON(t, env, "run", file, "--local", "--each", rows, "--shard", shard)
		if code != ExitOK || sum.Shard != shard || len(sum.Rows) == 0 || len(sum.Rows) == 12 {
			t.Fatalf("--shard %s: exit %d, %d rows\n%s", shard, code, len(sum.Rows), errOut)
		}
		for _, r := range sum.Rows {
			all = append(all, r.Row)
		}
	}
	slices.Sort(all)
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; !slices.Equal(all, want) {
		t.Fatalf("the shards ran rows %v, want each of 1..12 once", all)
	}
	if got := ranRows(t, dir); len(got) != 12 {
		t.Fatalf("rows ran: %v", got)
	}
}

// A batch on the sandbox (its Runs API, or --local with the sandbox's jobs), JSONL rows:
// a run per row, recorded as a run of the batch where it ran, each in the GitHub job
// summary with the batch's section after them, the table on stdout.
func TestEachOnTheSandbox(t *testing.T) {
	for _, mode := range [][]string{{"--sandbox"}, {"--local", "--sandbox"}} {
		t.Run(strings.Join(mode, " "), func(t *testing.T) {
			dir := t.TempDir()
			file := writePipeline(t, dir, "params:\n  url: https://example.com\nsteps:\n  - id: extract\n    action: brands.extract\n    input: {url: \"${params.url}\"}\n")
			rows := writeFile(t, dir, "rows.jsonl", "{\"url\": \"https://a.example.com\"}\n{\"url\": \"https://b.example.com\"}\n{\"url\": \"https://c.example.com\"}\n")
			summary := filepath.Join(dir, "summary.md")
			env := map[string]string{"XDG_STATE_HOME": dir, "XDG_CACHE_HOME": dir, "GITHUB_STEP_SUMMARY": summary}
			f, out, errOut := eachFactory(env)
			if code := Execute(context.Background(), f, append([]string{"run", file, "--each", rows}, mode...)); code != ExitOK {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			table := out.String()
			for _, want := range []string{"ROW  PARAMS", "url=https://b.example.com  completed", "3 completed (exit 0)"} {
				if !strings.Contains(table, want) {
					t.Errorf("the summary table lacks %q:\n%s", want, table)
				}
			}
			st, err := store.Open(context.Background(), filepath.Join(dir, "pi", "runs.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			place := map[bool]string{false: store.PlaceSandbox, true: store.PlaceLocal}[mode[0] == "--local"]
			list, err := st.ListWhere(context.Background(), store.Filter{Place: place})
			if err != nil || len(list) != 3 {
				t.Fatalf("%s runs recorded: %d, %v", place, len(list), err)
			}
			md, _ := os.ReadFile(summary)
			if !strings.Contains(string(md), "### Batch ") || !strings.Contains(string(md), "| 2 | url=https://b.example.com | completed |") {
				t.Errorf("the job summary has no section of the batch:\n%s", md)
			}
			for _, r := range list {
				rec, err := st.Get(context.Background(), r.ID)
				if err != nil || rec.BatchID == "" || !strings.Contains(table, rec.BatchID) {
					t.Fatalf("run %s is in batch %q (%v)", r.ID, rec.BatchID, err)
				}
				if !strings.Contains(string(md), "Run "+r.ID) {
					t.Errorf("the job summary has no section of row run %s", r.ID)
				}
			}
		})
	}
}

// A bad rows file or a row the pipeline cannot take is refused (exit 2) before any row
// runs, naming the file and line, or the column with the pipeline's params.
func TestEachRefusesBadRows(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := writePipeline(t, dir, "params:\n  market: FR\n  count: 1\nsteps:\n  - id: work\n    action: shell.run\n    input: {script: \"echo ${params.market} ${params.count} >> ran.log\"}\n")
	tests := []struct {
		rows, body string
		extra      []string
		want       string
	}{
		{"a.csv", "markt\nDE\n", nil, `a.csv: column "markt" is no param of ` + file + `: did you mean "market"? (its params: count, market)`},
		{"b.csv", "market,count\nDE,1\nAT\n", nil, "b.csv:3: this row has a different number of fields than the header"},
		{"c.jsonl", "{\"market\": \"DE\"}\n{\"market\": \n", nil, "c.jsonl:2: param \"market\": not JSON"},
		{"d.csv", "market,count\nDE,2\nAT,many\n", nil, "d.csv:3: row 2: with its params, " + file + " is invalid"},
		{"e.csv", "market\nDE\n", []string{"-p", "market=US"}, `e.csv: column "market" is also given with -p`},
		{"f.csv", "market\n", nil, "f.csv: no rows"},
	}
	for _, tt := range tests {
		t.Run(tt.rows, func(t *testing.T) {
			rows := writeFile(t, dir, tt.rows, tt.body)
			f, out, errOut := eachFactory(map[string]string{"XDG_STATE_HOME": dir})
			code := Execute(context.Background(), f, append([]string{"run", file, "--local", "--each", rows}, tt.extra...))
			if code != ExitUsage || !strings.Contains(errOut.String(), tt.want) {
				t.Fatalf("exit %d, want 2 with %q:\n%s%s", code, tt.want, out, errOut)
			}
			if _, err := os.Stat(filepath.Join(dir, "ran.log")); err == nil {
				t.Fatal("a row ran")
			}
		})
	}
}

func TestEachFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string // "" when the flags are fine
		each eachOptions
	}{
		{[]string{"p.yaml", "--each", "r.csv"}, "", eachOptions{Each: "r.csv"}},
		{[]string{"p.yaml", "--each", "r.csv", "--shard", "2/3", "--max-parallel", "8"}, "", eachOptions{Each: "r.csv", MaxParallel: 8, Shard: batch.Shard{I: 2, N: 3}, shardText: "2/3"}},
		{[]string{"--resume", "abcd", "--failed", "--max-parallel", "2"}, "", eachOptions{MaxParallel: 2, Failed: true}},
		{[]string{"p.yaml", "--shard", "1/2"}, "add --each", eachOptions{}},
		{[]string{"p.yaml", "--max-parallel", "2"}, "add --each", eachOptions{}},
		{[]string{"p.yaml", "--failed"}, "--failed reruns the failed rows of a batch", eachOptions{}},
		{[]string{"p.yaml", "--each", "r.csv", "--shard", "3/2"}, "want 1 <= I <= N", eachOptions{}},
		{[]string{"p.yaml", "--each", "r.csv", "--max-parallel", "0"}, "--max-parallel 0", eachOptions{}},
		{[]string{"--resume", "abcd", "--shard", "1/2"}, "drop --shard", eachOptions{}},
		{[]string{"--resume", "abcd", "--each", "r.csv"}, "drop --each", eachOptions{}},
		{[]string{"-", "--each", "-"}, "both read standard input", eachOptions{}},
		{[]string{"p.yaml", "--each", "r.csv", "--detach"}, "--detach with --each", eachOptions{}},
		{[]string{"p.yaml", "--each", "r.csv", "--dry-run"}, "--dry-run with --each", eachOptions{}},
		{[]string{"p.yaml", "--each", "r.csv", "--download", "d"}, "with --each", eachOptions{}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, _, errOut := testFactory()
			var got *runOptions
			cmd := newRunCmd(f, func(o *runOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(errOut)
			cmd.SetErr(errOut)
			err := cmd.Execute()
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err) != ExitUsage {
					t.Fatalf("error %v (exit %d), want %q", err, exitCode(err), tt.want)
				}
				return
			}
			if err != nil || got.eachOptions != tt.each {
				t.Fatalf("options %+v, %v; want %+v", got.eachOptions, err, tt.each)
			}
		})
	}
}

// A resumed batch on the Pi API pays for no row twice: a row whose run is recorded
// completed (pi stopped before its ledger said so) takes that run, and a row whose run pi
// stopped following (kill -9) is followed to its end; neither creates a run.
func TestEachResumeFollowsRemoteRuns(t *testing.T) {
	inst, err := sandbox.Start(context.Background(), sandbox.Options{Latency: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	target, _ := url.Parse(inst.URL)
	var creates atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/runs" {
			creates.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	env := map[string]string{"XDG_STATE_HOME": dir, "XDG_CACHE_HOME": dir, "PI_BASE_URL": srv.URL, "PI_API_KEY": inst.APIKey}
	file := writePipeline(t, dir, "params:\n  url: https://example.com\nsteps:\n  - id: extract\n    action: brands.extract\n    input: {url: \"${params.url}\"}\n")
	rows := writeFile(t, dir, "rows.csv", "url\nhttps://a.example.com\nhttps://b.example.com\n")
	code, sum, errOut := runEachJSON(t, env, "run", file, "--each", rows, "--no-cache")
	if code != ExitOK || creates.Load() != 2 {
		t.Fatalf("batch: exit %d, %d runs created\n%s", code, creates.Load(), errOut)
	}
	// As a kill -9 leaves them: row 1's run ended but the ledger says running; row 2's run
	// is recorded in progress (pi stopped following it) and its row running.
	st, err := store.Open(context.Background(), filepath.Join(dir, "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	b, ledger, err := st.GetBatch(context.Background(), sum.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ledger {
		ledger[i].Status = string(batch.Running)
		if err := st.SaveBatchRow(context.Background(), b.ID, ledger[i]); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := st.Get(context.Background(), ledger[1].RunID)
	if err != nil {
		t.Fatal(err)
	}
	rec.Run.Status = "in_progress"
	if err := st.SaveRun(context.Background(), rec.Run); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, again, errOut := runEachJSON(t, env, "run", "--resume", sum.ID, "--no-cache")
	if code != ExitOK || again.Counts[batch.Completed] != 2 {
		t.Fatalf("resume: exit %d, %+v\n%s", code, again, errOut)
	}
	if n := creates.Load(); n != 2 {
		t.Fatalf("the resume created %d runs, want none", n-2)
	}
	for i, r := range again.Rows {
		if r.RunID != sum.Rows[i].RunID {
			t.Errorf("row %d: run %s after the resume, was %s", r.Row, r.RunID, sum.Rows[i].RunID)
		}
	}
	if r := storedRun(t, dir, ledger[1].RunID); r.Status != "completed" {
		t.Errorf("row 2's run is recorded %s after it was followed", r.Status)
	}
}

// -o jsonl: a line per row as it ends, then the batch.
func TestEachJSONL(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := writePipeline(t, dir, eachPipeline)
	rows := writeFile(t, dir, "rows.jsonl", "{\"n\": 1}\n{\"n\": 2}\n")
	writeFile(t, dir, "ok-1", "")
	f, out, errOut := eachFactory(map[string]string{"XDG_STATE_HOME": dir})
	if code := Execute(context.Background(), f, []string{"run", file, "--local", "--each", rows, "-o", "jsonl", "--max-parallel", "1"}); code != ExitRunFailed {
		t.Fatalf("exit %d, want 1 (row 2 fails)\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 2 rows and the batch:\n%s", len(lines), out)
	}
	var r1, r2 batch.RowSummary
	var sum batch.Summary
	for i, v := range []any{&r1, &r2, &sum} {
		if err := json.Unmarshal([]byte(lines[i]), v); err != nil {
			t.Fatalf("line %d: %v\n%s", i+1, err, lines[i])
		}
	}
	if r1.Row != 1 || r1.Status != batch.Completed || r1.Params["n"] != "1" || r2.Row != 2 || r2.Status != batch.Failed || r2.ExitCode != ExitRunFailed || r2.RunID == "" {
		t.Fatalf("row lines: %+v %+v", r1, r2)
	}
	if sum.ID == "" || sum.ExitCode != ExitRunFailed || len(sum.Rows) != 2 {
		t.Fatalf("batch line: %+v", sum)
	}
}

// The note at a batch's end counts its rows in words that fit the number.
func TestBatchEndNoteCounts(t *testing.T) {
	for _, tt := range []struct {
		failed int
		want   string
	}{{1, "batch b1: 1 row not completed;"}, {2, "batch b1: 2 rows not completed;"}} {
		f, _, errOut := eachFactory(nil)
		sum := batch.Summary{ID: "b1", Counts: map[batch.Status]int{batch.Completed: 3}, Rows: make([]batch.RowSummary, 3+tt.failed)}
		batchEndNote(context.Background(), &runOptions{runDeps: runDeps{IO: f.IO}}, sum)
		if !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%d failed: %q, want %q", tt.failed, errOut, tt.want)
		}
	}
}

// Rows run at once and share stderr: a row's own warnings start with its row number.
func TestEachRowWarningsNameTheRow(t *testing.T) {
	dir := t.TempDir()
	file := writePipeline(t, dir, `params:
  ref: https://cdn.example.com/a.png
steps:
  - id: ad
    action: campaigns.generate
    input: {prompt: "An ad", reference_images: ["${params.ref}"]}
`)
	rows := writeFile(t, dir, "rows.csv", "ref\nhttps://cdn.example.com/a.png\nhttp://cdn.example.com/b.png\nhttps://cdn.example.com/c.png\n")
	env := map[string]string{"XDG_STATE_HOME": dir, "XDG_CACHE_HOME": dir}
	f, out, errOut := eachFactory(env)
	if code := Execute(context.Background(), f, []string{"run", file, "--each", rows, "--sandbox"}); code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var warned []string
	for l := range strings.Lines(errOut.String()) {
		if strings.Contains(l, "the server fetches only https:// URLs") {
			warned = append(warned, l)
		}
	}
	if len(warned) == 0 {
		t.Fatalf("no warning about row 2's http:// reference image:\n%s", errOut)
	}
	for _, l := range warned {
		if !strings.HasPrefix(l, "row 2: ") {
			t.Errorf("a warning of row 2 does not say whose it is: %q", l)
		}
	}
}
