package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/render"
)

// TestFollowRefresh checks the long-poll length asked of the server: it bounds the request
// rate (5s polls = at most 12/min with progress; 30s = 2/min with -o json), the server
// answering early only when the run changes.
func TestFollowRefresh(t *testing.T) {
	tests := []struct {
		progress bool
		want     string
	}{{true, "5"}, {false, "30"}}
	for _, tt := range tests {
		var got []string
		n := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = append(got, r.URL.Query().Get("timeout_seconds"))
			n++
			status := "running"
			if n == 3 {
				status = "completed"
			}
			w.Write([]byte(`{"id":"req_pi_1","data":{"run_id":"0b5d4c1e-1111-4222-8333-444455556666","status":"` + status + `","steps":[]}}`))
		}))
		c, err := piapi.New(piapi.Config{BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		ios, _, _, _ := render.Test()
		p := render.NewProgress(ios, render.Options{Format: render.FormatPlain})
		r, err := follow(context.Background(), c, p, nil, "0b5d4c1e-1111-4222-8333-444455556666", time.Time{}, followRefresh(tt.progress))
		p.Stop()
		srv.Close()
		if err != nil || string(r.Status) != "completed" {
			t.Fatalf("follow: %v %v", r, err)
		}
		if strings.Join(got, ",") != strings.Repeat(tt.want+",", 2)+tt.want {
			t.Fatalf("progress %v: timeout_seconds = %q, want %s each", tt.progress, got, tt.want)
		}
	}
}

// TestFinishFollowInterrupted: Ctrl-C (a cancelled context) exits 130 and says how to follow.
func TestFinishFollowInterrupted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, err := piapi.New(piapi.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := render.Test()
	f := &Factory{IO: ios}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := render.NewProgress(ios, render.Options{Format: render.FormatPlain})
	id := "0b5d4c1e-1111-4222-8333-444455556666"
	err = finishFollow(ctx, f, c, p, id, time.Time{}, time.Second)
	if exitCode(err) != 130 || !strings.Contains(errOut.String(), "pi runs get "+id+" --wait") {
		t.Fatalf("exit %d, stderr %q", exitCode(err), errOut)
	}
}
