package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
)

const followID = "0b5d4c1e-1111-4222-8333-444455556666"

// TestFollowRemoteInterrupted: Ctrl-C (a cancelled context) exits 130 and says how to follow.
func TestFollowRemoteInterrupted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, err := piapi.New(piapi.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ios, _, _, errOut := render.Test()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := render.NewProgress(ios, render.Options{Format: render.FormatPlain})
	res, err := followRemote(ctx, c, p, nil, followID, time.Time{}, time.Second)
	if err == nil {
		err = finish(ios, res, nil)
	}
	if exitCode(err) != 130 || !strings.Contains(errOut.String(), "pi runs get "+followID+" --wait") {
		t.Fatalf("exit %d, stderr %q", exitCode(err), errOut)
	}
}

// BenchmarkFollowTerminal is the time from the long-poll's answer to the final result on
// screen: one GET over loopback answering a finished 10-step run, its decoding, the diff
// against what was shown (all ten steps still processing), and the final table and summary
// on a 100-column colour terminal (issue 5: within 50 ms).
//
//	go test ./internal/cli -run '^$' -bench FollowTerminal
func BenchmarkFollowTerminal(b *testing.B) {
	steps := func(status string) string {
		var parts []string
		for i := range 10 {
			job := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			result := "null"
			if status == "completed" {
				result = `{"job_id":"` + job + `","image_url":"https://cdn.example.test/` + job + `.png","result_url":"campaigns/` + job + `"}`
			}
			parts = append(parts, fmt.Sprintf(`{"id":"step_%d","action":"campaigns.generate","status":"%s","depends_on":[],"job_id":"%s","result":%s,"error":null,"started_at":1795874042,"completed_at":null}`, i, status, job, result))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	body := `{"id":"req_pi_1","object":"run","status":"completed","data":{"id":"` + followID + `","status":"completed","metadata":null,"created_at":1795874042,"updated_at":1795874052,"steps":` + steps("completed") + `}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	defer srv.Close()
	c, err := piapi.New(piapi.Config{BaseURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	var shown run.Run
	if err := json.Unmarshal([]byte(`{"id":"`+followID+`","status":"in_progress","steps":`+steps("processing")+`}`), &shown); err != nil {
		b.Fatal(err)
	}
	ios, _, out, errOut := render.Test()
	ios.SetTTY(true)
	ios.SetColorEnabled(true)
	ios.SetWidth(100)
	for b.Loop() {
		out.Reset()
		errOut.Reset()
		p := render.NewProgress(ios, render.Options{Format: render.FormatTable})
		p.Start(&shown)
		r, err := c.Follow(context.Background(), followID, &shown, p, piapi.FollowOptions{Interval: 5 * time.Second})
		if err != nil || r.Status != run.Completed {
			b.Fatalf("follow = %v, %v", r, err)
		}
		if err := p.Finish(r); err != nil {
			b.Fatal(err)
		}
	}
}
