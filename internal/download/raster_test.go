package download

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/clock"
)

// Only raster images are kept, known by their bytes whatever the Content-Type says: an
// SVG (it can carry a script), HTML or JSON is refused with the reason, never saved.
func TestDownloadKeepsOnlyRasterImages(t *testing.T) {
	h := newImageHost(t)
	webp := []byte("RIFF\x24\x00\x00\x00WEBPVP8 webp")
	avif := []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1")
	r := testRun(
		adStep("svg", h.put("/a.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "image/svg+xml")),
		adStep("html", h.put("/b", []byte("<!doctype html><html><script>x</script>"), "text/html")),
		adStep("json-as-png", h.put("/c.png", []byte(`{"not": "an image"}`), "image/png")),
		adStep("png", h.put("/d", pngBytes("d"), "text/plain")),
		adStep("gif", h.put("/e", []byte("GIF89a gif"), "image/gif")),
		adStep("webp", h.put("/f", webp, "image/webp")),
		adStep("avif", h.put("/g", avif, "image/avif")),
	)
	dir := t.TempDir()
	res, err := Run(context.Background(), r, Options{Dir: dir, AllowInternal: true, Clock: clock.NewAuto(time.Now())})
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Failed != 3 {
		t.Fatalf("err %v, want 3 refused", err)
	}
	for _, tt := range []struct{ step, want string }{
		{"svg", "image/svg+xml"}, {"html", "text/html"}, {"json-as-png", "not a PNG, JPEG, GIF, WebP or AVIF image"},
	} {
		it := res.Items[indexOf(res, tt.step)]
		if it.Err == nil || !strings.Contains(it.Err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one saying %q", tt.step, it.Err, tt.want)
		}
	}
	files := map[string]string{}
	for _, f := range readManifestFile(t, dir).Files {
		files[f.Step] = f.File + " " + f.ContentType
	}
	want := map[string]string{"png": "png.png image/png", "gif": "gif.gif image/gif", "webp": "webp.webp image/webp", "avif": "avif.avif image/avif"}
	for k, v := range want {
		if files[k] != v {
			t.Errorf("%s: %q, want %q", k, files[k], v)
		}
	}
	if len(files) != len(want) {
		t.Errorf("manifest %v", files)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, "svg") || strings.HasPrefix(n, "html") || strings.HasPrefix(n, "json") || strings.HasSuffix(n, ".part") {
			t.Errorf("%s is in %s", n, filepath.Base(dir))
		}
	}
}

func indexOf(res *Result, step string) int {
	for i, it := range res.Items {
		if it.Step == step {
			return i
		}
	}
	return -1
}
