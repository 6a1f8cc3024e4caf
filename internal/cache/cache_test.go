package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/clock"
)

func open(t *testing.T, path string, opts Options) *Cache {
	t.Helper()
	c, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func key(t *testing.T, prompt string) Key {
	t.Helper()
	k, err := NewKey("campaigns.generate", map[string]any{"prompt": prompt}, Sandbox)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func adResult(job string) map[string]any {
	return map[string]any{"job_id": job, "image_url": "https://img.test/" + job + ".png", "result_url": "https://img.test/" + job + ".png"}
}

func TestPutLatestVariants(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	c := open(t, filepath.Join(t.TempDir(), "pi", "cache.db"), Options{Clock: clk})
	k := key(t, "hero")
	if e, err := c.Latest(ctx, k); e != nil || err != nil {
		t.Fatalf("empty cache: %v, %v", e, err)
	}
	if err := c.Put(ctx, k, "hero", "job-0", adResult("job-0")); err != nil {
		t.Fatal(err)
	}
	r, err := c.NextVariant(ctx, k)
	if err != nil || r.Variant != 1 {
		t.Fatalf("reroll variant %d, %v", r.Variant, err)
	}
	clk.Advance(time.Minute)
	if err := c.Put(ctx, r, "hero", "job-1", adResult("job-1")); err != nil {
		t.Fatal(err)
	}
	e, err := c.Latest(ctx, k)
	if err != nil || e.JobID != "job-1" || e.Variant != 1 || e.Step != "hero" || e.Result["image_url"] != "https://img.test/job-1.png" {
		t.Fatalf("latest %+v, %v", e, err)
	}
	if !e.Created.Equal(clk.Now()) {
		t.Errorf("created %v", e.Created)
	}
	list, err := c.List(ctx)
	if err != nil || len(list) != 2 || list[0].JobID != "job-1" {
		t.Fatalf("list %v, %v", list, err)
	}
	// Prune by last use: the older entry goes, once it is old enough.
	clk.Advance(2 * time.Hour)
	if err := c.Touch(ctx, list[0].Digest); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Prune(ctx, time.Hour); n != 1 || err != nil {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if n, err := c.Clear(ctx); n != 1 || err != nil {
		t.Fatalf("cleared %d, %v", n, err)
	}
	if list, _ := c.List(ctx); len(list) != 0 {
		t.Errorf("after clear: %v", list)
	}
}

// The cache holds at most its bound: the least recently used entries go first, and a
// result too big to keep is not cached.
func TestBound(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	c := open(t, filepath.Join(t.TempDir(), "cache.db"), Options{Clock: clk, MaxBytes: 10 * 400})
	var keys []Key
	for i := range 20 {
		k := key(t, fmt.Sprint("p", i))
		keys = append(keys, k)
		if err := c.Put(ctx, k, "s", fmt.Sprint("job-", i), adResult(fmt.Sprint("job-", i))); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		if i == 0 {
			continue
		}
		if err := c.Touch(ctx, keys[0].Digest()); err != nil { // the first stays in use
			t.Fatal(err)
		}
	}
	list, _ := c.List(ctx)
	var total int64
	for _, e := range list {
		total += e.Size
	}
	if total > 10*400 || len(list) < 5 {
		t.Fatalf("%d entries, %d bytes, bound %d", len(list), total, 10*400)
	}
	if e, _ := c.Latest(ctx, keys[0]); e == nil {
		t.Error("the most used entry went")
	}
	if e, _ := c.Latest(ctx, keys[1]); e != nil {
		t.Error("the least recently used entry stayed")
	}
	big := map[string]any{"stdout": string(make([]byte, MaxResultBytes))}
	if err := c.Put(ctx, key(t, "big"), "s", "", big); err != nil {
		t.Fatal(err)
	}
	if e, _ := c.Latest(ctx, key(t, "big")); e != nil {
		t.Error("a result over the limit was cached")
	}
}

// After Close the cache file alone (what CI saves) holds every entry: nothing is left in a
// -wal file beside it.
func TestFileAloneIsComplete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "cache.db")
	c, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := c.Put(ctx, key(t, fmt.Sprint(i)), "s", fmt.Sprint("job-", i), adResult(fmt.Sprint("job-", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "cache.db")
	copyFile(t, path, restored)
	r := open(t, restored, Options{})
	if list, err := r.List(ctx); err != nil || len(list) != 50 {
		t.Fatalf("the saved file alone has %d entries (%v)", len(list), err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// A file that is not a cache says so, and how to get rid of it.
func TestUnusableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	if err := os.WriteFile(path, []byte("not a database, not at all, no sqlite header here"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), "pi cache clear") {
		t.Fatalf("err %v", err)
	}
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("still there: %v", err)
	}
}

func TestClaims(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cache.db")
	a, b := open(t, path, Options{}), open(t, path, Options{})
	k := key(t, "hero")
	ca, err := a.Claim(ctx, k, "hero")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Claim(ctx, k, "hero")
	if err != nil || cb.IdemKey != ca.IdemKey || ca.IdemKey == "" {
		t.Fatalf("two claims of one key: %+v %+v %v", ca, cb, err)
	}
	if err := a.ClaimJob(ctx, k, "job-1"); err != nil {
		t.Fatal(err)
	}
	if cl, _ := b.Claimed(ctx, k); cl == nil || cl.JobID != "job-1" {
		t.Fatalf("the other process sees %+v", cl)
	}
	// A failed job: the next attempt is a new job, with a new key.
	if err := a.Release(ctx, k); err != nil {
		t.Fatal(err)
	}
	cc, _ := b.Claim(ctx, k, "hero")
	if cc.IdemKey == ca.IdemKey || cc.JobID != "" {
		t.Errorf("claim after release %+v", cc)
	}
	// A completed job ends the claim.
	if err := b.Put(ctx, k, "hero", "job-2", adResult("job-2")); err != nil {
		t.Fatal(err)
	}
	if cl, _ := a.Claimed(ctx, k); cl != nil {
		t.Errorf("claim after put: %+v", cl)
	}
	if err := a.ClaimRun(ctx, k, "run-1", "hero"); err != nil {
		t.Fatal(err)
	}
	if cl, _ := b.Claimed(ctx, k); cl == nil || cl.RunID != "run-1" {
		t.Errorf("run claim %+v", cl)
	}
}

// Two pi processes writing one cache file at once: every write lands, none fails on the
// other's lock.
func TestTwoProcesses(t *testing.T) {
	if os.Getenv("PI_CACHE_TEST_WRITER") != "" {
		return // the helper below, run as a child
	}
	path := filepath.Join(t.TempDir(), "cache.db")
	open(t, path, Options{}).Close() // created before both start
	var cmds []*exec.Cmd
	for w := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWriterProcess$")
		cmd.Env = append(os.Environ(), "PI_CACHE_TEST_WRITER="+strconv.Itoa(w), "PI_CACHE_TEST_PATH="+path)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	list, err := open(t, path, Options{}).List(context.Background())
	if err != nil || len(list) != 2*writes {
		t.Fatalf("%d entries after two writers of %d (%v)", len(list), writes, err)
	}
}

const writes = 100

func TestWriterProcess(t *testing.T) {
	w := os.Getenv("PI_CACHE_TEST_WRITER")
	if w == "" {
		t.Skip("run by TestTwoProcesses")
	}
	c := open(t, os.Getenv("PI_CACHE_TEST_PATH"), Options{})
	for i := range writes {
		k := key(t, w+"-"+strconv.Itoa(i))
		if _, err := c.Claim(context.Background(), k, "s"); err != nil {
			t.Fatal(err)
		}
		if err := c.Put(context.Background(), k, "s", "job", adResult("job")); err != nil {
			t.Fatal(err)
		}
	}
}
