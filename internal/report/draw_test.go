package report

import (
	"encoding/base64"
	"image/color"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// TestReportDrawsMissingImages: an image the download directory does not hold is embedded
// from Options.Draw (a sandbox run's ads, drawn again), one the directory holds is not
// drawn, and a step without an image or a failed one is never asked for.
func TestReportDrawsMissingImages(t *testing.T) {
	r := sampleRun()
	drawn := tinyPNG(t, color.NRGBA{10, 20, 30, 255})
	var asked []string
	draw := func(s *run.Step) ([]byte, bool) {
		asked = append(asked, s.ID)
		return drawn, true
	}
	page, _ := writeReport(t, r, Options{Draw: draw})
	if strings.Join(asked, ",") != "hero,fr" {
		t.Errorf("drawn for %v, want hero and fr", asked)
	}
	// html/template writes the + of base64 as &#43; in an attribute
	enc := strings.ReplaceAll(base64.StdEncoding.EncodeToString(drawn), "+", "&#43;")
	if n := strings.Count(page, enc); n != 2 {
		t.Errorf("the drawn image is embedded %d times, want 2", n)
	}
	if !strings.Contains(page, "2 images embedded") || !strings.Contains(page, "drawn again by pi&#39;s sandbox") {
		t.Error("the page does not say the images were drawn again")
	}

	asked = nil
	page, _ = writeReport(t, r, Options{Draw: draw, Dir: downloadDir(t, r)})
	if len(asked) != 0 {
		t.Errorf("drawn for %v although the directory holds them", asked)
	}
	if strings.Contains(page, enc) {
		t.Error("a drawn image replaced a downloaded one")
	}
}

// TestReportSaysThingsOnce: a failed job's error_log is the step's error, shown once; the
// pipeline file is named; one image is "1 image".
func TestReportSaysThingsOnce(t *testing.T) {
	r := sampleRun()
	de := &r.Steps[3]
	de.Result = map[string]any{"job_id": de.JobID, "error_log": de.Error}
	r.Steps[2].Status = run.StepFailed // fr: only hero keeps an image
	page, _ := writeReport(t, r, Options{File: "campaign.yaml", Draw: func(*run.Step) ([]byte, bool) { return tinyPNG(t, color.Black), true }})
	if n := strings.Count(page, "upstream_timeout: &lt;b&gt;simulated&lt;/b&gt; failure"); n != 1 {
		t.Errorf("the error is shown %d times, want once", n)
	}
	if !strings.Contains(page, "Pipeline: <code>campaign.yaml</code>") {
		t.Error("the pipeline file is not named")
	}
	if !strings.Contains(page, "· 1 image embedded") {
		t.Error(`no "1 image embedded"`)
	}
}
