package cache

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// --cache=read: a cache opened read-only finds what a writable one finds, and writes
// nothing, not even the upkeep Find does in a writable one (an entry touched, a lost job
// dropped, a claimed job promoted to an entry, a dead claim ended): the file is byte for
// byte what it was.
func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cache.db")
	w, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept, lost, claimed, dead := key(t, "kept"), key(t, "lost"), key(t, "claimed"), key(t, "dead")
	for _, k := range []Key{kept, lost} {
		if err := w.Put(ctx, k, "hero", "job-"+k.Digest()[:4], adResult("job-"+k.Digest()[:4])); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range []Key{claimed, dead} {
		if _, err := w.Claim(ctx, k, "hero"); err != nil {
			t.Fatal(err)
		}
		if err := w.ClaimJob(ctx, k, []string{"j-claimed", "j-dead"}[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ad := func(status string) *Job { return &Job{Type: "campaign_ad_generation", Status: status} }
	srv := &fakeJobs{jobs: map[string]*Job{"job-" + kept.Digest()[:4]: ad("completed"), "j-claimed": ad("completed"), "j-dead": ad("failed")}}

	c, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		k    Key
		want Outcome
	}{{kept, Reuse}, {lost, Gone}, {claimed, Reuse}, {dead, Gone}} {
		hit, err := c.Find(ctx, tt.k, srv)
		if err != nil || hit.Verdict.Outcome != tt.want {
			t.Errorf("Find %s: %+v, %v; want outcome %d", tt.k.Input, hit.Verdict, err, tt.want)
		}
	}
	// What pi never asks of a read-only cache is refused, not done.
	_, claimErr := c.Claim(ctx, key(t, "new"), "hero")
	writes := map[string]error{"Put": c.Put(ctx, key(t, "new"), "hero", "j", adResult("j")), "Release": c.Release(ctx, claimed), "Claim": claimErr}
	for name, err := range writes {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: %v, want ErrReadOnly", name, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("a read-only cache changed its file")
	}
	// The same finds in a writable cache do write: the test above is not vacuous.
	w = open(t, path, Options{})
	if _, err := w.Find(ctx, claimed, srv); err != nil {
		t.Fatal(err)
	}
	if e, _ := w.Latest(ctx, claimed); e == nil {
		t.Error("a writable cache did not record the claimed job")
	}
}

// A read-only open of a missing file creates nothing and says the file is not there.
func TestReadOnlyMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pi")
	_, err := Open(context.Background(), filepath.Join(dir, "cache.db"), Options{ReadOnly: true})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the cache's directory was made: %v", err)
	}
}
