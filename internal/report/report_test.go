package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/download"
	"github.com/pi-cli/pi/internal/run"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)

// tinyPNG is a small PNG of one colour.
func tinyPNG(t testing.TB, c color.Color) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 24, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 24; x++ {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sampleRun is a failed run: a brand, a hero ad, two localizations (one failed), a step
// never run, and text a server should never get into the page as markup.
func sampleRun() *run.Run {
	img := func(job string) map[string]any {
		u := "https://images.example/campaigns/org/" + job + ".png"
		return map[string]any{"job_id": job, "image_url": u, "result_url": u}
	}
	return &run.Run{ID: "9f175af9-589b-44e8-86b9-1a434702245a", Status: run.Failed, CreatedAt: t0, UpdatedAt: t0.Add(9 * time.Second),
		Metadata: map[string]any{"pipeline": "campaign-launch"},
		Steps: []run.Step{
			{ID: "brand", Action: "brands.extract", Status: run.StepCompleted, DependsOn: []string{}, JobID: "j-brand",
				StartedAt: t0, CompletedAt: t0.Add(2 * time.Second),
				Result: map[string]any{"job_id": "j-brand", "brand_id": "4fd35a71-71ef-5a55-a9d9-aa75c889a6d0", "result_url": "brands/4fd35a71"}},
			{ID: "hero", Action: "campaigns.generate", Status: run.StepCompleted, DependsOn: []string{"brand"}, JobID: "j-hero",
				StartedAt: t0.Add(2 * time.Second), CompletedAt: t0.Add(5 * time.Second), Result: img("j-hero")},
			{ID: "fr", Action: "campaigns.localize_ad", Status: run.StepCompleted, DependsOn: []string{"hero"}, JobID: "j-fr",
				StartedAt: t0.Add(5 * time.Second), CompletedAt: t0.Add(8 * time.Second), Result: img("j-fr")},
			{ID: `de"><script>alert(1)</script>`, Action: "campaigns.localize_ad", Status: run.StepFailed, DependsOn: []string{"hero"}, JobID: "j-de",
				StartedAt: t0.Add(5 * time.Second), CompletedAt: t0.Add(9 * time.Second),
				Error: "upstream_timeout: <b>simulated</b> failure\n  at worker.js:12"},
			{ID: "final_edit", Action: "campaigns.edit", Status: run.StepPending, DependsOn: []string{"fr", `de"><script>alert(1)</script>`, "brand"}},
		}}
}

func sampleInputs() map[string]Input {
	return map[string]Input{
		"brand": {Values: map[string]any{"url": "https://shop.example.com", "logoBase64": strings.Repeat("QUJD", 100)}},
		"hero": {Values: map[string]any{"prompt": "Summer sale hero banner <img src=x onerror=alert(1)>", "output": map[string]any{"aspect_ratio": "16:9"}},
			Map: map[string]string{"brand_id": "$steps.brand.result.brand_id"}},
		"fr": {Values: map[string]any{"prompt": "Keep the layout", "target_culture": "French urban premium"},
			Map: map[string]string{"source_job_id": "$steps.hero.result.job_id"}},
	}
}

// downloadDir writes what pi runs download would have for hero and fr.
func downloadDir(t *testing.T, r *run.Run) string {
	dir := t.TempDir()
	m := download.Manifest{RunID: r.ID, Status: string(r.Status)}
	for _, f := range []struct {
		step string
		c    color.Color
	}{{"hero", color.NRGBA{200, 60, 120, 255}}, {"fr", color.NRGBA{60, 160, 90, 255}}} {
		b := tinyPNG(t, f.c)
		if err := os.WriteFile(filepath.Join(dir, f.step+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		m.Files = append(m.Files, download.File{Step: f.step, File: f.step + ".png", URL: download.ImageURL(r.Step(f.step)),
			Bytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), ContentType: "image/png"})
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, download.ManifestName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeReport(t *testing.T, r *run.Run, opts Options) (string, []string) {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = t0.Add(time.Minute)
	}
	var b bytes.Buffer
	warns, err := Write(&b, r, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), warns
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./internal/report -update rewrites it)\n--- got\n%s", name, got)
	}
}

// dataURLs shortens embedded images in a golden file to their type.
var dataURLs = regexp.MustCompile(`data:image/png;base64,[A-Za-z0-9+/=]+`)

func TestReportGolden(t *testing.T) {
	r := sampleRun()
	page, warns := writeReport(t, r, Options{Inputs: sampleInputs(), Dir: downloadDir(t, r), Generator: "pi v0.0.0-test"})
	if len(warns) != 0 {
		t.Errorf("warnings %v", warns)
	}
	golden(t, "report.html.golden", dataURLs.ReplaceAllString(page, "data:image/png;base64,…"))

	plain, _ := writeReport(t, &run.Run{ID: "0b5d4c1e-1111-4222-8333-444455556666", Status: run.InProgress,
		Steps: []run.Step{{ID: "only", Action: "brands.extract", Status: run.StepProcessing, StartedAt: t0}}}, Options{})
	golden(t, "report-in-progress.html.golden", plain)
}

func TestReportStructure(t *testing.T) {
	r := sampleRun()
	page, _ := writeReport(t, r, Options{Inputs: sampleInputs(), Dir: downloadDir(t, r)})
	for _, want := range []string{
		`<span class="badge fail">failed</span>`,
		`<svg xmlns="http://www.w3.org/2000/svg"`,
		`<section class="step ok" id="step-2">`,        // hero
		`<section class="step off" id="step-5">`,       // final_edit: not run
		`<span class="badge off">not run</span>`,       // a pending step of a finished run
		`<a href="#step-3">fr</a>`,                     // depends_on links
		`<img src="data:image/png;base64,`,             // hero and fr embedded
		`2 images embedded`,                            // …and counted
		`<td class="mono">← $steps.hero.result.job_id`, // input_map
		`(base64 of 400 characters)`,                   // no blob in the page
		`<pre class="error">upstream_timeout: &lt;b&gt;simulated&lt;/b&gt; failure`,
		`content="default-src 'none';`, // no script can run, none is loaded
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// One node per step in the SVG and one edge per dependency.
	if n := strings.Count(page, "<rect "); n != len(r.Steps) {
		t.Errorf("%d nodes, want %d", n, len(r.Steps))
	}
	if n := strings.Count(page, "\n<path d=\"M"); n != 6 {
		t.Errorf("%d edges, want 6", n)
	}
	// brand -> final_edit skips two layers: it runs in the lane below the boxes.
	if !strings.Contains(page, `<path d="M200 65 C232 65 216 136 232 136 L736 136 C752 136 736 65 762 65"/>`) {
		t.Error("the edge that skips layers does not run in the lane")
	}
	// Nothing that came from the run is markup; nothing is loaded from the network but
	// images.
	for _, bad := range []string{"<script", "<b>simulated", "<img src=x", "<link", "@import", "url(http"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	// The step whose image was not downloaded links the public URL.
	page, _ = writeReport(t, r, Options{})
	if !strings.Contains(page, `<img src="https://images.example/campaigns/org/j-fr.png"`) || strings.Contains(page, "data:image") {
		t.Error("without a download directory the images should be linked, not embedded")
	}
}

func TestReportDownloadDirChecks(t *testing.T) {
	r := sampleRun()
	dir := downloadDir(t, r)
	// A file changed after the download is not embedded, and said so.
	if err := os.WriteFile(filepath.Join(dir, "fr.png"), tinyPNG(t, color.Black), 0o644); err != nil {
		t.Fatal(err)
	}
	page, warns := writeReport(t, r, Options{Dir: dir})
	if len(warns) != 1 || !strings.Contains(warns[0], "sha256 differs") || strings.Count(page, "data:image/png") != 1 {
		t.Errorf("warnings %v, %d embedded", warns, strings.Count(page, "data:image/png"))
	}
	// Another run's directory, or none, is an error.
	other := *r
	other.ID = "00000000-0000-4000-8000-000000000000"
	if _, err := Write(&bytes.Buffer{}, &other, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "holds the images of run") {
		t.Errorf("another run's directory: %v", err)
	}
	if _, err := Write(&bytes.Buffer{}, r, Options{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "pi runs download") {
		t.Errorf("empty directory: %v", err)
	}
}

// chromium finds a headless-capable Chromium, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestReportRendersInChromium draws the page in headless Chromium and checks the picture
// is a page, not a blank: it has the run's colours (the status badges and images) and ink
// over a good part of it. CI installs Chromium (.ci/run); elsewhere it skips, saying so.
func TestReportRendersInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("chromium is not installed (apt-get install chromium): the render check is skipped")
	}
	r := sampleRun()
	page, _ := writeReport(t, r, Options{Inputs: sampleInputs(), Dir: downloadDir(t, r)})
	dir := t.TempDir()
	htmlPath := filepath.Join(dir, "report.html")
	if err := os.WriteFile(htmlPath, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--no-first-run", "--no-default-browser-check", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--window-size=1280,1400", "--screenshot="+shot, "file://"+htmlPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	var ink, total int
	colours := map[color.RGBA]bool{}
	hasFailRed, hasOkGreen, hasImage := false, false, false
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			total++
			if c.R < 240 || c.G < 240 || c.B < 240 {
				ink++
			}
			colours[color.RGBA{c.R &^ 7, c.G &^ 7, c.B &^ 7, 255}] = true
			switch {
			case near(c, 0xcf, 0x22, 0x2e):
				hasFailRed = true
			case near(c, 0x1a, 0x7f, 0x37):
				hasOkGreen = true
			case near(c, 200, 60, 120):
				hasImage = true // the embedded hero image
			}
		}
	}
	if share := float64(ink) / float64(total); share < 0.03 || len(colours) < 20 {
		t.Errorf("the page looks blank: %.1f%% ink, %d colours", 100*share, len(colours))
	}
	if !hasFailRed || !hasOkGreen || !hasImage {
		t.Errorf("missing on the page: failed badge %v, completed badge %v, embedded image %v", hasFailRed, hasOkGreen, hasImage)
	}
	if dst := os.Getenv("PI_REPORT_SCREENSHOT"); dst != "" {
		// For the README: PI_REPORT_SCREENSHOT=docs/report.png keeps the picture.
		b, _ := os.ReadFile(shot)
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func near(c color.RGBA, r, g, b uint8) bool {
	d := func(a, b uint8) int {
		if a > b {
			return int(a - b)
		}
		return int(b - a)
	}
	return d(c.R, r)+d(c.G, g)+d(c.B, b) < 24
}
