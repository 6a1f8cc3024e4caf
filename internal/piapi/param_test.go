package piapi

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
)

// The server's 400 names the offending field in param: pi shows it.
func TestErrorShowsParam(t *testing.T) {
	for _, tt := range []struct {
		fixture string
		status  int
		want    string
	}{
		{"error-400-invalid-request-body.json", 400, "API error 400 invalid_request_body: Invalid enum value. Expected 'auto' | '1:1' | '1:4' | '1:8' | '2:3' | '3:2' | '3:4' | '4:1' | '4:3' | '4:5' | '5:4' | '8:1' | '9:16' | '16:9' | '21:9', received '7:3' (param output.aspect_ratio) (request id req_pi_5b0e7f61-2b7c-4a4e-9a1f-0c3d2e1f4a5b)"},
		{"error-409-idempotency-key-mismatch.json", 409, "API error 409 idempotency_key_mismatch: Idempotency-Key was already used with a different request payload. (param Idempotency-Key) (request id req_pi_0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a)"},
	} {
		body, err := os.ReadFile("testdata/" + tt.fixture)
		if err != nil {
			t.Fatal(err)
		}
		c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.status)
			w.Write(body)
		})
		_, err = c.CreateJob(context.Background(), "campaigns.generate", map[string]any{"prompt": "p"})
		var ae *Error
		if !errors.As(err, &ae) || err.Error() != tt.want {
			t.Errorf("got %v\nwant %s", err, tt.want)
		}
	}
}

func TestErrorListsTheOtherIssues(t *testing.T) {
	c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		w.Write([]byte(`{"error":{"type":"invalid_request_error","code":"invalid_request_body","message":"Required","request_id":"req_pi_1","param":"prompt",
"issues":[{"code":"invalid_type","path":["prompt"],"message":"Required"},{"code":"too_small","path":["reference_images",1],"message":"String must contain at least 1 character(s)"},{"code":"custom","path":["metadata"],"message":"Must have at most 16 keys, got 17"}]}}`))
	})
	_, err := c.CreateJob(context.Background(), "campaigns.generate", map[string]any{})
	want := "API error 400 invalid_request_body: Required (param prompt); also reference_images.1: String must contain at least 1 character(s), metadata: Must have at most 16 keys, got 17 (request id req_pi_1)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if !strings.Contains(err.Error(), "param prompt") {
		t.Error("no param")
	}
}
