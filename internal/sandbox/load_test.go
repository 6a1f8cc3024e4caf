package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadServer serves a sandbox on a real loopback port, with a client sized for hundreds of
// concurrent requests.
func loadServer(tb testing.TB, opts Options) (*Server, string, *http.Client, func()) {
	tb.Helper()
	opts.APIKey = testKey
	s, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	hs := &http.Server{Handler: s}
	go hs.Serve(ln)
	tr := &http.Transport{MaxIdleConns: 1000, MaxIdleConnsPerHost: 1000}
	stop := func() {
		tr.CloseIdleConnections()
		if err := Shutdown(context.Background(), hs, s); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		tr.CloseIdleConnections()
	}
	return s, "http://" + ln.Addr().String(), &http.Client{Transport: tr}, stop
}

var loadRunBody = []byte(`{"steps":[{"id":"extract","action":"brands.extract","input":{"url":"https://example.com"}},` +
	`{"id":"gen","action":"campaigns.generate","depends_on":["extract"],"input":{"prompt":"hero"},` +
	`"input_map":{"brand_id":"$steps.extract.result.brand_id"}}]}`)

// call makes one request and returns the status and the decoded data.
func call(hc *http.Client, method, url string, body []byte) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var env struct {
		Data map[string]any `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, env.Data, nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// TestLoad: 200 concurrent long-polls plus run creations against one server on loopback for
// PI_LOAD_SECONDS (default 10): no errors, no goroutine left behind. Set PI_LOAD_TEST=1.
func TestLoad(t *testing.T) {
	if os.Getenv("PI_LOAD_TEST") != "1" {
		t.Skip("set PI_LOAD_TEST=1 to run the load test")
	}
	secs := 10
	if v, err := strconv.Atoi(os.Getenv("PI_LOAD_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	baseline := runtime.NumGoroutine()
	_, base, hc, stop := loadServer(t, Options{DBPath: filepath.Join(t.TempDir(), "load.db"), Latency: 200 * time.Millisecond})

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	var (
		created, polls, gets, errs atomic.Int64
		ids                        = make(chan string, 1000)
		mu                         sync.Mutex
		getLat                     []time.Duration
		firstErr                   atomic.Value
	)
	fail := func(err error) {
		errs.Add(1)
		firstErr.CompareAndSwap(nil, err)
	}
	var wg sync.WaitGroup
	// Creators.
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				code, data, err := call(hc, "POST", base+"/api/v1/runs", loadRunBody)
				if err != nil || code != http.StatusAccepted {
					fail(fmt.Errorf("create: %d %v", code, err))
					continue
				}
				created.Add(1)
				select {
				case ids <- data["run_id"].(string):
				default:
				}
			}
		})
	}
	// 200 long-pollers, each following one run to its end, then the next.
	for range 200 {
		wg.Go(func() {
			for {
				var id string
				select {
				case id = <-ids:
				case <-ctx.Done():
					return
				}
				for ctx.Err() == nil {
					code, data, err := call(hc, "GET", base+"/api/v1/runs/"+id+"?wait_for_completion=true&timeout_seconds=5", nil)
					if err != nil || code != http.StatusOK {
						fail(fmt.Errorf("long-poll: %d %v", code, err))
						break
					}
					polls.Add(1)
					if st := data["status"]; st == "completed" || st == "failed" {
						break
					}
				}
			}
		})
	}
	// Plain GETs, timed.
	wg.Go(func() {
		for ctx.Err() == nil {
			var id string
			select {
			case id = <-ids:
			case <-ctx.Done():
				return
			}
			start := time.Now()
			code, _, err := call(hc, "GET", base+"/api/v1/runs/"+id, nil)
			if err != nil || code != http.StatusOK {
				fail(fmt.Errorf("get: %d %v", code, err))
				continue
			}
			gets.Add(1)
			mu.Lock()
			getLat = append(getLat, time.Since(start))
			mu.Unlock()
		}
	})
	wg.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	stop()

	t.Logf("%d s: %d runs created (%.0f/s), %d long-poll answers, %d plain GETs: p50 %s, p99 %s; heap in use %d MiB, errors %d",
		secs, created.Load(), float64(created.Load())/float64(secs), polls.Load(), gets.Load(),
		percentile(getLat, 0.50), percentile(getLat, 0.99), ms.HeapInuse>>20, errs.Load())
	if errs.Load() > 0 {
		t.Errorf("%d errors, first: %v", errs.Load(), firstErr.Load())
	}
	// Every goroutine of the server and the clients must end.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > baseline+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after the load, %d before:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		<-tick.C
	}
}

// BenchmarkCreateRun measures run creations per second over loopback HTTP (each one
// committed to the SQLite file before it is answered).
func BenchmarkCreateRun(b *testing.B) {
	_, base, hc, stop := loadServer(b, Options{DBPath: filepath.Join(b.TempDir(), "bench.db"), Latency: 50 * time.Millisecond})
	defer stop()
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code, _, err := call(hc, "POST", base+"/api/v1/runs", loadRunBody)
			if err != nil || code != http.StatusAccepted {
				b.Errorf("create: %d %v", code, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
}

// BenchmarkGetRunUnderLoad measures a plain GET /runs/:id while 200 long-polls wait and
// runs are being created, and reports its p50 and p99.
func BenchmarkGetRunUnderLoad(b *testing.B) {
	_, base, hc, stop := loadServer(b, Options{DBPath: filepath.Join(b.TempDir(), "bench.db"), Latency: time.Hour})
	defer stop()
	_, data, err := call(hc, "POST", base+"/api/v1/runs", loadRunBody)
	if err != nil {
		b.Fatal(err)
	}
	id := data["run_id"].(string)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 201 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if i == 0 {
					call(hc, "POST", base+"/api/v1/runs", loadRunBody)
					continue
				}
				// Long-polls on a run that does not end within the benchmark (jobs take an hour).
				call(hc, "GET", base+"/api/v1/runs/"+id+"?wait_for_completion=true&timeout_seconds=1", nil)
			}
		})
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		code, _, err := call(hc, "GET", base+"/api/v1/runs/"+id, nil)
		if err != nil || code != http.StatusOK {
			b.Fatalf("get: %d %v", code, err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
}
