package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// pi serve --addr 0.0.0.0:0 --allow-remote: a request with a forged Host (here an
// unauthenticated one, sent first) must not choose the origin of later image URLs. The
// origin comes from --public-url or from the listener.
func TestServeImageOriginIgnoresHost(t *testing.T) {
	for _, tt := range []struct {
		name      string
		publicURL string
		want      func(port string) string
	}{
		{"listener", "", func(port string) string { return "http://" + serveHostname() + ":" + port + "/files/" }},
		{"public-url", "https://sandbox.example:8443", func(string) string { return "https://sandbox.example:8443/files/" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			lines := make(chan string, 100)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(pr)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				err := runServe(ctx, &serveOptions{Out: io.Discard, ErrOut: pw, Getenv: func(string) string { return "" },
					Addr: "0.0.0.0:0", AllowRemote: true, PublicURL: tt.publicURL, APIKey: "pi_test_origin_key_0123456789",
					DBPath: ":memory:", Latency: 5 * time.Millisecond})
				pw.Close()
				done <- err
			}()
			defer func() {
				cancel()
				for range lines {
				}
				if err := <-done; err != nil {
					t.Error(err)
				}
			}()
			first := <-lines
			// 0.0.0.0 may be listened on as [::] (dual stack).
			i := strings.LastIndex(first, ":")
			port := first[i+1:]
			if !strings.HasPrefix(first, "listening on http://") || i < 0 {
				t.Fatalf("first line %q, want listening on http://0.0.0.0:PORT", first)
			}
			base := "http://127.0.0.1:" + port
			// The forged Host, unauthenticated, first.
			evil, _ := http.NewRequest("GET", base+"/api/v1/runs/f027a242-df39-44cb-943a-c9d220ddaebd", nil)
			evil.Host = "evil.example:666"
			if resp, err := http.DefaultClient.Do(evil); err != nil {
				t.Fatal(err)
			} else {
				resp.Body.Close()
			}
			job := createSandboxJob(t, base, "pi_test_origin_key_0123456789")
			img := waitSandboxImage(t, base, "pi_test_origin_key_0123456789", job)
			if strings.Contains(img, "evil") || !strings.HasPrefix(img, tt.want(port)) {
				t.Fatalf("image_url %q, want it under %s", img, tt.want(port))
			}
		})
	}
}

func createSandboxJob(t *testing.T, base, key string) string {
	t.Helper()
	post, _ := http.NewRequest("POST", base+"/api/v1/campaigns/generate", strings.NewReader(`{"prompt":"x"}`))
	post.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var created struct {
		Data struct {
			JobID string `json:"job_id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("create job: %d %v", resp.StatusCode, err)
	}
	return created.Data.JobID
}

func waitSandboxImage(t *testing.T, base, key, job string) string {
	t.Helper()
	get, _ := http.NewRequest("GET", base+"/api/v1/jobs/"+job+"?wait_for_completion=true&timeout_seconds=30", nil)
	get.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(get)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Data struct {
			Status  string         `json:"status"`
			Payload map[string]any `json:"payload"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || got.Data.Status != "completed" {
		t.Fatalf("job %s: %+v %v", job, got.Data, err)
	}
	img, _ := got.Data.Payload["image_url"].(string)
	return img
}
