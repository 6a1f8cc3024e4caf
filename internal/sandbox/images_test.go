package sandbox

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/catalog"
)

// fetch GETs url with no Authorization header, as a client of the public bucket does.
func fetch(t *testing.T, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// dominant is the most frequent colour of img, as RGBA.
func dominant(img image.Image) [4]uint32 {
	count := map[[4]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			count[[4]uint32{r, g, bl, a}]++
		}
	}
	var best [4]uint32
	for c, n := range count {
		if n > count[best] {
			best = c
		}
	}
	return best
}

func TestAdImages(t *testing.T) {
	_, c := newTestServer(t, Options{})
	imageOf := func(path string, input map[string]any) (string, string) {
		id := c.createJob(path, input)
		d := c.waitJob(id, "").data()
		if d["status"] != string(catalog.JobCompleted) {
			t.Fatalf("job %s: %v", id, d)
		}
		u, _ := d["payload"].(map[string]any)["image_url"].(string)
		if d["result_url"] != u {
			t.Errorf("result_url %v, image_url %v: want the same URL", d["result_url"], u)
		}
		return id, u
	}
	gen, genURL := imageOf("/api/v1/campaigns/generate", map[string]any{"prompt": "A hero banner for spring"})
	_, frURL := imageOf("/api/v1/campaigns/localize-ad", map[string]any{
		"prompt": "Keep composition exactly", "target_culture": "French urban premium", "source_job_id": gen})
	_, deURL := imageOf("/api/v1/campaigns/localize-ad", map[string]any{
		"prompt": "Keep composition exactly", "target_culture": "German minimalist", "source_job_id": gen})
	_, wideURL := imageOf("/api/v1/campaigns/generate", map[string]any{
		"prompt": "A hero banner for spring", "output": map[string]any{"aspect_ratio": "16:9"}})

	if want := c.base + "/files/campaigns/" + OrgID + "/" + gen + ".png"; genURL != want {
		t.Fatalf("image_url %s, want %s", genURL, want)
	}
	sums := map[[32]byte]string{}
	colours := map[[4]uint32]string{}
	for _, u := range []string{genURL, frURL, deURL, wideURL} {
		resp, b := fetch(t, "GET", u) // no key: the bucket is public
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("GET %s: %d %s %.80q", u, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("GET %s: not a PNG: %v", u, err)
		}
		if bd := img.Bounds(); bd.Dx() < 64 || bd.Dy() < 64 {
			t.Errorf("%s is %v: too small to look at", u, bd)
		}
		sum := sha256.Sum256(b)
		if other, dup := sums[sum]; dup {
			t.Errorf("%s and %s are the same picture", u, other)
		}
		sums[sum] = u
		if u != wideURL {
			colours[dominant(img)] = u
		}
		// The same URL gives the same bytes (permanent URLs; downloads are idempotent).
		if _, again := fetch(t, "GET", u); !bytes.Equal(again, b) {
			t.Errorf("%s changed between two GETs", u)
		}
	}
	if len(colours) != 3 {
		t.Errorf("the generated ad and its two localizations share a main colour: %v", colours)
	}
	_, b := fetch(t, "GET", wideURL)
	if img, _ := png.Decode(bytes.NewReader(b)); img.Bounds().Dx() <= img.Bounds().Dy() {
		t.Errorf("16:9 ad is %v", img.Bounds())
	}

	t.Run("not found", func(t *testing.T) {
		brand := c.createJob("/api/v1/brands/extract", map[string]any{"url": "https://example.com"})
		c.waitJob(brand, "")
		failed := c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "please fail"})
		c.waitJob(failed, "")
		for _, path := range []string{
			"/files/campaigns/" + OrgID + "/" + brand + ".png",                        // not an ad
			"/files/campaigns/" + OrgID + "/" + failed + ".png",                       // failed
			"/files/campaigns/" + OrgID + "/f027a242-df39-44cb-943a-c9d220ddaebd.png", // unknown
			"/files/campaigns/00000000-0000-4000-8000-000000000000/" + gen + ".png",   // another org
			"/files/campaigns/" + OrgID + "/" + gen + ".jpg",
			"/files/campaigns/" + OrgID + "/" + gen,
			"/files/" + gen + ".png",
		} {
			if resp, b := fetch(t, "GET", c.base+path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d %q, want 404", path, resp.StatusCode, b)
			}
		}
	})

	t.Run("HEAD, conditional, methods", func(t *testing.T) {
		resp, b := fetch(t, "HEAD", genURL)
		if resp.StatusCode != http.StatusOK || len(b) != 0 || resp.ContentLength <= 0 {
			t.Errorf("HEAD: %d, %d bytes, length %d", resp.StatusCode, len(b), resp.ContentLength)
		}
		req, _ := http.NewRequest("GET", genURL, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		r2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if r2.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match with the ETag: %d", r2.StatusCode)
		}
		if resp, _ := fetch(t, "POST", genURL); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST: %d", resp.StatusCode)
		}
	})

	t.Run("API still needs the key", func(t *testing.T) {
		if resp, _ := fetch(t, "GET", c.base+"/api/v1/jobs/"+gen); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET job without a key: %d", resp.StatusCode)
		}
	})
}

func TestImagesInRunResults(t *testing.T) {
	_, c := newTestServer(t, Options{})
	_, r := c.waitRun(c.createRun(campaign))
	for _, id := range []string{"generate_base", "localize_fr"} {
		s := r.Step(id)
		u, _ := s.Result["image_url"].(string)
		if !strings.HasPrefix(u, c.base+"/files/") || s.Result["result_url"] != u {
			t.Fatalf("%s: result %v", id, s.Result)
		}
		if resp, b := fetch(t, "GET", u); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: GET %s: %d %q", id, u, resp.StatusCode, b)
		}
	}
}

func TestPublicURLOption(t *testing.T) {
	s, c := newTestServer(t, Options{PublicURL: "http://images.test:9/"})
	id := c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "x"})
	d := c.waitJob(id, "").data()
	if want := "http://images.test:9/files/campaigns/" + OrgID + "/" + id + ".png"; d["result_url"] != want {
		t.Errorf("result_url %v, want %s", d["result_url"], want)
	}
	_ = s
}

func TestLabelText(t *testing.T) {
	for in, want := range map[string]string{
		"French urban premium": "FRENCH URBAN PREMIUM",
		"  Café  crème\t100% ": "CAFE CREME 100%",
		"日本 minimal":           "MINIMAL",
		"Straße <b>":           "STRASSE B",
	} {
		if got := labelText(in); got != want {
			t.Errorf("labelText(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkRenderAd(b *testing.B) {
	j := &job{ID: "7d38a678-385e-4c9e-a203-cfde97608eff", Type: "campaign_ad_localization",
		Input: map[string]any{"prompt": "Keep composition exactly", "target_culture": "French urban premium"}}
	for b.Loop() {
		if _, err := renderAd(j); err != nil {
			b.Fatal(err)
		}
	}
}

func TestImageCacheIsBounded(t *testing.T) {
	var c imageCache
	draws := 0
	draw := func() ([]byte, error) { draws++; return []byte(fmt.Sprint(draws)), nil }
	for i := 0; i < cachedImages+50; i++ {
		if _, err := c.get(fmt.Sprint(i), draw); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.byJob) != cachedImages || len(c.order) != cachedImages {
		t.Errorf("%d cached, %d in order; want %d", len(c.byJob), len(c.order), cachedImages)
	}
	before := draws
	if b, _ := c.get(fmt.Sprint(cachedImages+49), draw); draws != before || string(b) != fmt.Sprint(cachedImages+50) {
		t.Error("a cached picture was drawn again")
	}
	if _, err := c.get("0", draw); err != nil || draws != before+1 {
		t.Error("an evicted picture was not drawn again")
	}
}

// FuzzRenderAd: whatever a job's input says, its picture is a PNG of a sane size.
func FuzzRenderAd(f *testing.F) {
	f.Add("A hero banner", "French urban premium", "16:9", "")
	f.Add("", "", "1:8", "7d38a678-385e-4c9e-a203-cfde97608eff")
	f.Add("Ünïcødé ß 日本 \x1b[31m", "x", "64:1", "not a uuid")
	f.Add(strings.Repeat("long ", 1000), "c", "0:0", "")
	f.Fuzz(func(t *testing.T, prompt, culture, ratio, source string) {
		j := &job{ID: "7d38a678-385e-4c9e-a203-cfde97608eff", Type: "campaign_ad_localization", Input: map[string]any{
			"prompt": prompt, "target_culture": culture, "source_job_id": source,
			"output": map[string]any{"aspect_ratio": ratio}}}
		b, err := renderAd(j)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if bd := img.Bounds(); bd.Dx() < 16 || bd.Dy() < 16 || bd.Dx() > imageLongSide || bd.Dy() > imageLongSide {
			t.Fatalf("size %v", bd)
		}
	})
}

// The sandbox's images are plain http on loopback; passing one on (source_image_url,
// reference_images) must work as the real server's https image URLs do.
func TestOwnImagesPassTheHTTPSRule(t *testing.T) {
	_, c := newTestServer(t, Options{})
	gen := c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "hero"})
	own, _ := c.waitJob(gen, "").data()["payload"].(map[string]any)["image_url"].(string)
	if !strings.HasPrefix(own, "http://127.0.0.1:") {
		t.Fatalf("image_url %q", own)
	}
	a := c.do("POST", "/api/v1/campaigns/localize-ad", map[string]any{
		"prompt": "keep", "target_culture": "French", "source_image_url": own, "reference_images": []any{own}})
	if a.status != http.StatusAccepted {
		t.Fatalf("own image as source_image_url: %d %s", a.status, a.raw)
	}
	// Another http URL passes the schema too, as on the real server, whose image code then
	// reads it as base64 (src/lib/ads/reference-inputs.ts; catalog.Notes warns about it).
	a = c.do("POST", "/api/v1/campaigns/localize-ad", map[string]any{
		"prompt": "keep", "target_culture": "French", "source_image_url": "http://elsewhere.test/a.png"})
	if a.status != http.StatusAccepted {
		t.Errorf("foreign http URL: %d %s", a.status, a.raw)
	}
	// Inside a run, through input_map.
	_, r := c.waitRun(c.createRun(map[string]any{"steps": []any{
		map[string]any{"id": "hero", "action": "campaigns.generate", "input": map[string]any{"prompt": "hero"}},
		map[string]any{"id": "br", "action": "campaigns.localize_ad", "depends_on": []any{"hero"},
			"input":     map[string]any{"prompt": "keep", "target_culture": "Brazilian"},
			"input_map": map[string]any{"source_image_url": "$steps.hero.result.image_url"}},
	}}))
	if br := r.Step("br"); br.Status != "completed" {
		t.Errorf("br: %s %s", br.Status, br.Error)
	}
}

// A request's Host never chooses the images' origin: a forged one sent first (without a
// key) leaves image URLs on the configured origin, or on the default when none is.
func TestImageOriginIgnoresHost(t *testing.T) {
	for _, public := range []string{"http://sandbox.test:8080", ""} {
		s, err := New(Options{APIKey: testKey, Latency: 10 * time.Millisecond, PublicURL: public})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(s)
		c := &client{t: t, base: hs.URL, key: testKey}
		req, _ := http.NewRequest("GET", c.base+"/api/v1/runs/f027a242-df39-44cb-943a-c9d220ddaebd", nil)
		req.Host = "evil.example:666"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "x"})
		d := c.waitJob(id, "").data()
		want := public
		if want == "" {
			want = "http://127.0.0.1"
		}
		if u, _ := d["result_url"].(string); !strings.HasPrefix(u, want+"/files/") {
			t.Errorf("PublicURL %q: result_url %q, want it under %s", public, u, want)
		}
		s.Drain()
		hs.Close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}
}
