package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"github.com/spf13/cobra"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/sandbox"
)

func TestServeFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    serveOptions
		wantErr string
	}{
		{args: nil, want: serveOptions{Addr: "127.0.0.1:8080", Latency: time.Second}},
		{args: []string{"--addr", "localhost:0", "--api-key", "k", "--db", ":memory:", "--latency", "50ms",
			"--fail-rate", "0.2", "--error-rate", "0.1", "--rate-limit", "120/min"},
			want: serveOptions{Addr: "localhost:0", APIKey: "k", DBPath: ":memory:", Latency: 50 * time.Millisecond,
				FailRate: 0.2, ErrorRate: 0.1, RateLimit: sandbox.Rate{N: 120, Per: time.Minute}}},
		{args: []string{"--rate-limit", "20"}, want: serveOptions{Addr: "127.0.0.1:8080", Latency: time.Second, RateLimit: sandbox.Rate{N: 20, Per: time.Second}}},
		{args: []string{"--rate-limit", "20/day"}, wantErr: "s, min or h"},
		{args: []string{"--addr", "[::1]:0"}, want: serveOptions{Addr: "[::1]:0", Latency: time.Second}},
		{args: []string{"--addr", "0.0.0.0:8080", "--allow-remote"}, want: serveOptions{Addr: "0.0.0.0:8080", Latency: time.Second, AllowRemote: true}},
		{args: []string{"--public-url", "https://sandbox.example:8443/"}, want: serveOptions{Addr: "127.0.0.1:8080", Latency: time.Second, PublicURL: "https://sandbox.example:8443"}},
		{args: []string{"--public-url", "ftp://sandbox.example"}, wantErr: "--public-url"},
		{args: []string{"--public-url", "http://u:p@sandbox.example"}, wantErr: "--public-url"},
		{args: []string{"--public-url", "http://sandbox.example/files"}, wantErr: "--public-url"},
		{args: []string{"--public-url", "sandbox.example:8080"}, wantErr: "--public-url"},
		{args: []string{"--addr", "0.0.0.0:8080"}, wantErr: "not a loopback address"},
		{args: []string{"--addr", ":8080"}, wantErr: "not a loopback address"},
		{args: []string{"--addr", "example.com:80"}, wantErr: "not a loopback address"},
		{args: []string{"--addr", "8080"}, wantErr: "want HOST:PORT"},
		{args: []string{"--fail-rate", "1.5"}, wantErr: "--fail-rate"},
		{args: []string{"--error-rate", "-0.1"}, wantErr: "--error-rate"},
		{args: []string{"--rate-limit", "-1"}, wantErr: "--rate-limit"},
		{args: []string{"--latency", "0s"}, wantErr: "--latency"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ios, _, _, _ := render.Test()
			f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
			var got *serveOptions
			cmd := newServeCmdWith(f, func(_ context.Context, o *serveOptions) error { got = o; return nil })
			// As the root command does: a flag's value that does not parse is a usage error.
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError{err} })
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			err := cmd.ExecuteContext(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != ExitUsage {
					t.Fatalf("err %v (exit %d), want a usage error with %q", err, exitCode(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Out, got.ErrOut, got.Getenv = nil, nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("options %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestDefaultSandboxDB(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	if got := defaultSandboxDB(func(k string) string { return env[k] }); got != "/home/u/.local/state/pi/sandbox.db" {
		t.Errorf("got %s", got)
	}
	env["XDG_STATE_HOME"] = "/state"
	if got := defaultSandboxDB(func(k string) string { return env[k] }); got != "/state/pi/sandbox.db" {
		t.Errorf("got %s", got)
	}
}

// TestRunServe starts the server, talks to it and stops it as Ctrl-C would.
func TestRunServe(t *testing.T) {
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
	defer cancel()
	done := make(chan error, 1)
	polling := make(chan struct{}) // closed when the long-poll below reaches the handler
	go func() {
		err := runServe(ctx, &serveOptions{Out: io.Discard, ErrOut: pw, Getenv: func(string) string { return "" },
			Addr: "127.0.0.1:0", DBPath: ":memory:", Latency: time.Hour, handling: func(r *http.Request) {
				if r.URL.Query().Get("wait_for_completion") == "true" {
					close(polling)
				}
			}})
		pw.Close()
		done <- err
	}()
	first := <-lines
	url, ok := strings.CutPrefix(first, "listening on http://127.0.0.1:")
	if !ok || url == "0" {
		t.Fatalf("first line %q, want listening on http://127.0.0.1:PORT", first)
	}
	url = "http://127.0.0.1:" + url
	keyLine := <-lines
	key, ok := strings.CutPrefix(keyLine, "api key: pi_test_")
	if !ok {
		t.Fatalf("second line %q, want the generated key", keyLine)
	}
	key = "pi_test_" + key

	post, _ := http.NewRequest("POST", url+"/api/v1/campaigns/generate", strings.NewReader(`{"prompt":"x"}`))
	post.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Data struct {
			JobID string `json:"job_id"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("create job: %d", resp.StatusCode)
	}

	// A long-poll open at shutdown is answered, not cut. (One that arrives after shutdown
	// began is dropped by net/http itself, so the test waits until the handler has it.)
	polled := make(chan int, 1)
	go func() {
		get, _ := http.NewRequest("GET", url+"/api/v1/jobs/"+created.Data.JobID+"?wait_for_completion=true&timeout_seconds=30", nil)
		get.Header.Set("Authorization", "Bearer "+key)
		// A new connection: an idle kept-alive one may be closed by shutdown under the request.
		fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := fresh.Do(get)
		if err != nil {
			t.Log(err)
			polled <- 0
			return
		}
		resp.Body.Close()
		polled <- resp.StatusCode
	}()
	var rest []string
	for l := range lines {
		rest = append(rest, l)
		// The request log shows the POST; the poll may or may not be logged yet, so stop
		// once the POST is there.
		if strings.Contains(l, "POST /api/v1/campaigns/generate 202") {
			break
		}
	}
	<-polling
	cancel()
	if code := <-polled; code != http.StatusOK {
		t.Errorf("long-poll open at shutdown answered %d, want 200", code)
	}
	for l := range lines {
		rest = append(rest, l)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	all := strings.Join(rest, "\n")
	if strings.Count(all, key) != 0 {
		t.Errorf("the key was printed again after its line: %s", all)
	}
	if !strings.HasSuffix(all, "stopped") {
		t.Errorf("output does not end with stopped:\n%s", all)
	}
}

func TestRunServeListenError(t *testing.T) {
	ios, _, _, errOut := render.Test()
	err := runServe(context.Background(), &serveOptions{Out: ios.Out, ErrOut: errOut, Getenv: func(string) string { return "" },
		Addr: "127.0.0.1:99999", DBPath: ":memory:", Latency: time.Second, APIKey: "k"})
	var ee *ExitError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "listen on 127.0.0.1:99999") {
		t.Fatalf("err %v", err)
	}
	if errOut.Len() != 0 {
		t.Errorf("printed %q before failing", errOut.String())
	}
}
