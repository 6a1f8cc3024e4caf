package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// BenchmarkFinishedRunsMemory creates 10 runs of 15 MB bodies (issue 11: 1.2 GB held
// after 20) and reports the heap still in use once they finished: finished runs leave
// memory past keepBytes.
//
//	go test ./internal/sandbox -run '^$' -bench FinishedRunsMemory -benchtime 1x
func BenchmarkFinishedRunsMemory(b *testing.B) {
	for b.Loop() {
		s, err := New(Options{APIKey: testKey, DBPath: filepath.Join(b.TempDir(), "s.db"), Latency: time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(s)
		blob := strings.Repeat("x", 15<<20)
		body, _ := json.Marshal(map[string]any{"metadata": map[string]any{"blob": blob}, "steps": []any{
			map[string]any{"id": "b", "action": "brands.extract", "input": map[string]any{"url": "https://a.test"}}}})
		blob = ""
		post := func(body []byte) string {
			req, _ := http.NewRequest("POST", hs.URL+"/api/v1/runs", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			defer resp.Body.Close()
			var env struct {
				Data struct {
					RunID string `json:"run_id"`
				} `json:"data"`
			}
			json.NewDecoder(resp.Body).Decode(&env)
			return env.Data.RunID
		}
		wait := func(id string) {
			req, _ := http.NewRequest("GET", hs.URL+"/api/v1/runs/"+id+"?wait_for_completion=true&timeout_seconds=30", nil)
			req.Header.Set("Authorization", "Bearer "+testKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
		for range 10 {
			wait(post(body))
		}
		small := []byte(`{"steps":[{"id":"x","action":"brands.extract","input":{"url":"https://a.test"}}]}`)
		post(small)
		post(small) // lets the settled ones leave memory
		body = nil
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		s.Drain()
		hs.Close()
		s.Close()
	}
}
