package cli

import (
	"testing"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/render"
)

// Every client the Factory makes for one API origin shares one limiter (the runs and rows
// of a process, their jobs, polls and downloads); another origin has its own.
func TestFactoryLimiterPerOrigin(t *testing.T) {
	ios, _, _, _ := render.Test()
	base := "https://api.pi.example"
	f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
	f.Config = func() (piapi.Config, []string, error) {
		return piapi.Config{BaseURL: base, APIKey: "pi_live_k"}, nil, nil
	}
	a, err := f.apiConfig()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.apiConfig()
	if a.Limiter == nil || a.Limiter != b.Limiter || f.limiters.For(base+"/") != a.Limiter {
		t.Fatalf("two configs of one origin got limiters %p and %p", a.Limiter, b.Limiter)
	}
	base = "https://other.pi.example"
	if c, _ := f.apiConfig(); c.Limiter == a.Limiter {
		t.Error("another origin shares the limiter")
	}
	if apiPace(f, "") != nil || apiPace(f, base) == nil {
		t.Error("downloads are paced only when the API's origin is known")
	}
}
