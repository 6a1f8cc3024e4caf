package cli

import (
	"fmt"

	"github.com/pi-cli/pi/internal/piapi"
)

// apiClient builds the Pi API client from --base-url, --config, --debug and the environment.
// It is called only by commands that talk to the API, so other commands never read config.
func (f *Factory) apiClient() (*piapi.Client, error) {
	cfg, warns, err := piapi.LoadConfig(f.BaseURL, f.ConfigPath, f.Getenv)
	if err != nil {
		return nil, err
	}
	for _, w := range warns {
		fmt.Fprintln(f.IO.ErrOut, "warning: "+w)
	}
	cfg.UserAgent = f.Build.UserAgent()
	cfg.InsecureHTTP = f.InsecureHTTP
	if f.Debug {
		cfg.Debug = f.IO.ErrOut
	}
	return piapi.New(cfg)
}
