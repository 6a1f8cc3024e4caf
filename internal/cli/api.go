package cli

import (
	"context"
	"fmt"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/safe"
)

// apiConfig resolves the Pi API settings from --base-url, --config, --debug and the
// environment, printing the config file's warnings. It is called only by commands that talk
// to the API, so other commands never read config.
func (f *Factory) apiConfig() (piapi.Config, error) {
	cfg, warns, err := piapi.LoadConfig(f.BaseURL, f.ConfigPath, f.Getenv)
	if err != nil {
		return cfg, err
	}
	for _, w := range warns {
		fmt.Fprintln(f.IO.ErrOut, "warning: "+w)
	}
	cfg.UserAgent = f.Build.UserAgent()
	cfg.InsecureHTTP = f.InsecureHTTP
	if f.Debug {
		cfg.Debug = f.IO.ErrLog()
	}
	return cfg, nil
}

// apiClient is the Pi API client of apiConfig. A missing key is said here, before any
// request, rather than as the server's 401.
func (f *Factory) apiClient() (*piapi.Client, error) {
	cfg, err := f.apiConfig()
	if err != nil {
		return nil, err
	}
	if cfg.APIKey == "" {
		where := cfg.ConfigFile
		if where == "" {
			where = "the config file ($XDG_CONFIG_HOME/pi/config.yaml)"
		}
		return nil, fmt.Errorf("no API key: set PI_API_KEY or api_key in %s (or try the run with --sandbox)", where)
	}
	return piapi.New(cfg)
}

// sandboxClient starts the in-process simulated server (--sandbox) on its database (""
// for this machine's: startSandbox) and returns a client of it (with --debug honoured) and
// the session, which Close stops.
func (f *Factory) sandboxClient(ctx context.Context, db string) (*piapi.Client, *sandboxSession, error) {
	sess, err := startSandbox(ctx, f.Getenv, db)
	if err != nil {
		return nil, nil, fmt.Errorf("start the sandbox: %w", err)
	}
	cfg := piapi.Config{BaseURL: sess.inst.URL, APIKey: sess.inst.APIKey, UserAgent: f.Build.UserAgent()}
	if f.Debug {
		cfg.Debug = f.IO.ErrLog()
	}
	c, err := piapi.New(cfg)
	if err != nil {
		sess.Close()
		return nil, nil, err
	}
	return c, sess, nil
}

// redactor redacts the API key pi knows of (PI_API_KEY, the config file's), wherever a
// step's output, a server or a URL echoes it back.
func (f *Factory) redactor() *safe.Redactor {
	keys := []string{f.Getenv("PI_API_KEY")}
	if cfg, _, err := piapi.LoadConfig(f.BaseURL, f.ConfigPath, f.Getenv); err == nil {
		keys = append(keys, cfg.APIKey)
	}
	return safe.NewRedactor(keys...)
}
