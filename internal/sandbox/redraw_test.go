package sandbox

import (
	"bytes"
	"testing"
)

// TestDrawAdIsWhatTheSandboxServes: the picture drawn again from a job's id, type and
// input has the bytes the sandbox serves for that job.
func TestDrawAdIsWhatTheSandboxServes(t *testing.T) {
	input := map[string]any{"prompt": "Keep it", "target_culture": "French urban premium",
		"source_job_id": "6DE967B3-8717-4DE6-983C-7DAD84AA49BA", "output": map[string]any{"aspect_ratio": "16:9"}}
	j := &job{ID: "f5855877-2be6-48d3-864d-19471ef29371", Type: "campaign_ad_localization", Input: input}
	served, err := renderAd(j)
	if err != nil {
		t.Fatal(err)
	}
	drawn, err := DrawAd("F5855877-2BE6-48D3-864D-19471EF29371", "campaign_ad_localization", input)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served, drawn) {
		t.Error("DrawAd differs from the served picture")
	}
	other, _ := DrawAd(j.ID, "campaign_ad_localization", map[string]any{"prompt": "Another", "target_culture": "German"})
	if bytes.Equal(other, drawn) {
		t.Error("another input drew the same picture")
	}
}

func TestAdImageJob(t *testing.T) {
	const id = "f5855877-2be6-48d3-864d-19471ef29371"
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:40067/files/campaigns/" + OrgID + "/" + id + ".png", true},
		{"http://localhost:8080/files/campaigns/" + OrgID + "/" + id + ".png", true},
		{"http://[::1]:8080/files/campaigns/" + OrgID + "/" + id + ".png", true},
		{"https://cdn.pi.example/files/campaigns/" + OrgID + "/" + id + ".png", false},
		{"http://10.0.0.1/files/campaigns/" + OrgID + "/" + id + ".png", false},
		{"http://127.0.0.1/files/campaigns/other-org/" + id + ".png", false},
		{"http://127.0.0.1/files/campaigns/" + OrgID + "/" + id + ".jpg", false},
		{"http://127.0.0.1/files/campaigns/" + OrgID + "/not-a-uuid.png", false},
		{"http://127.0.0.1/files/campaigns/" + OrgID + "/" + id + ".png?x=1", false},
	}
	for _, tt := range tests {
		got, ok := AdImageJob(tt.url)
		if ok != tt.ok || ok && got != id {
			t.Errorf("AdImageJob(%q) = %q, %v; want ok %v", tt.url, got, ok, tt.ok)
		}
	}
}
