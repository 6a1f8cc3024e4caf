package batch

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestParseShard(t *testing.T) {
	for _, ok := range []string{"1/1", "1/2", "2/2", "3/10", " 1 / 4 "} {
		if _, err := ParseShard(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1", "0/2", "3/2", "1/0", "-1/2", "a/b", "1/2/3", "1/1001"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func testRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{Index: i, Line: i + 2, Params: map[string]string{"market": fmt.Sprintf("m%d", i), "format": []string{"story", "feed", "banner"}[i%3]}}
	}
	return rows
}

// Two shards of one file cover every row exactly once, and the same rows in another order
// are assigned the same way: a row's shard is its content's, not its place's.
func TestShardsCoverEveryRowOnce(t *testing.T) {
	rows := testRows(120)
	for _, n := range []int{2, 3, 7} {
		seen := map[string]int{}
		perShard := make([]map[string]bool, n)
		for i := 1; i <= n; i++ {
			perShard[i-1] = map[string]bool{}
			for _, r := range (Shard{I: i, N: n}).Select(rows) {
				seen[r.Params["market"]]++
				perShard[i-1][r.Params["market"]] = true
			}
			if len(perShard[i-1]) == 0 {
				t.Errorf("shard %d/%d of 120 rows is empty", i, n)
			}
		}
		if len(seen) != len(rows) {
			t.Fatalf("%d shards cover %d of %d rows", n, len(seen), len(rows))
		}
		for m, c := range seen {
			if c != 1 {
				t.Fatalf("%d shards: row %s is in %d of them", n, m, c)
			}
		}
		shuffled := testRows(120)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for i := 1; i <= n; i++ {
			got := (Shard{I: i, N: n}).Select(shuffled)
			if len(got) != len(perShard[i-1]) {
				t.Fatalf("shard %d/%d: %d rows shuffled, %d in order", i, n, len(got), len(perShard[i-1]))
			}
			for _, r := range got {
				if !perShard[i-1][r.Params["market"]] {
					t.Fatalf("shard %d/%d: row %s moved to it when the rows were shuffled", i, n, r.Params["market"])
				}
			}
		}
	}
}

// The key is the row's content: the order of its columns does not change it, any value does.
func TestKeyIsTheRowsContent(t *testing.T) {
	a := Key(map[string]string{"a": "1", "b": "2"})
	if b := Key(map[string]string{"b": "2", "a": "1"}); a != b {
		t.Fatal("the same row has two keys")
	}
	if c := Key(map[string]string{"a": "1", "b": "3"}); a == c {
		t.Fatal("two rows have one key")
	}
	if d := Key(map[string]string{"a": "12", "b": ""}); a == d {
		t.Fatal("moving text between columns keeps the key")
	}
}
