package download

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// Two downloads of one run into one directory at once (different steps) each add their
// files to the manifest: the second to write it merges with what the first wrote. Both
// have read the directory before either writes (the image host holds both until then).
func TestConcurrentDownloadsMergeTheManifest(t *testing.T) {
	var arrived sync.WaitGroup
	arrived.Add(2)
	release := make(chan struct{})
	go func() { arrived.Wait(); close(release) }()
	var once sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The first request of each download waits for the other download's first.
		if _, seen := once.LoadOrStore(r.URL.Query().Get("d"), true); !seen {
			arrived.Done()
			<-release
		}
		w.Write(pngBytes(r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	r := testRun(adStep("a1", srv.URL+"/a1?d=a"), adStep("a2", srv.URL+"/a2?d=a"), adStep("b1", srv.URL+"/b1?d=b"), adStep("b2", srv.URL+"/b2?d=b"))
	dir := t.TempDir()
	var wg sync.WaitGroup
	for _, glob := range []string{"a*", "b*"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := Run(context.Background(), r, Options{Dir: dir, Steps: []string{glob}, Concurrency: 1, AllowInternal: true}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	m := readManifestFile(t, dir)
	if len(m.Files) != 4 {
		t.Errorf("manifest lists %d files, want 4: %+v", len(m.Files), m.Files)
	}
}

// Every step gets its own file, however its id was changed to make a file name: the id
// "x?" becomes x_ plus a short hash, which must not be the name of the step "x_-074ab1".
func TestFileNamesNeverShared(t *testing.T) {
	for _, ids := range [][]string{{"x_-074ab1", "x?"}, {"x?", "x_-074ab1"}, {"A", "a"}, {"a b", "a_b", "a?b"}} {
		r := &run.Run{}
		for _, id := range ids {
			r.Steps = append(r.Steps, run.Step{ID: id})
		}
		names := fileBases(r)
		seen := map[string]string{}
		for _, id := range ids {
			n := names[id]
			if other, dup := seen[lower(n)]; dup {
				t.Errorf("%q and %q both get the file name %q", other, id, n)
			}
			seen[lower(n)] = id
		}
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
