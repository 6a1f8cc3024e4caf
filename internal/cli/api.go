package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/safe"
)

// globalFlags are pi's persistent flags. NewRootCmd binds them and turns them into the
// Factory's dependencies (Config, Trace): the Factory holds no flag values.
type globalFlags struct {
	baseURL, configPath string
	noColor, debug      bool
	insecureHTTP        bool   // plain http to a non-loopback API host
	jq                  string // filter the command's JSON output (jq.go)
}

func (g *globalFlags) bind(pf *pflag.FlagSet) {
	pf.BoolVar(&g.noColor, "no-color", false, "disable colour (also: NO_COLOR=1, CLICOLOR=0)")
	pf.StringVar(&g.baseURL, "base-url", "", "Pi server base URL (env PI_BASE_URL, or base_url in the config file)")
	pf.StringVar(&g.configPath, "config", "", "config file (default $XDG_CONFIG_HOME/pi/config.yaml)")
	pf.BoolVar(&g.debug, "debug", false, "trace every HTTP request and response to stderr (the API key redacted)")
	pf.StringVar(&g.jq, "jq", "", "with -o json: filter the JSON with a jq expression (strings print raw)")
	pf.BoolVar(&g.insecureHTTP, "insecure-http", false, "allow plain http to a non-loopback API host (the key travels unencrypted)")
}

// config is Factory.Config: the settings as the flags (read when called) say.
func (g *globalFlags) config(f *Factory) func() (piapi.Config, []string, error) {
	return func() (piapi.Config, []string, error) {
		cfg, warns, err := piapi.LoadConfig(g.baseURL, g.configPath, f.Getenv)
		cfg.InsecureHTTP = g.insecureHTTP
		return cfg, warns, err
	}
}

// trace is Factory.Trace: stderr with --debug.
func (g *globalFlags) trace(f *Factory) func() io.Writer {
	return func() io.Writer {
		if !g.debug {
			return nil
		}
		return f.IO.ErrLog()
	}
}

// loadConfig is f.Config, or the environment and the default file without flags.
func (f *Factory) loadConfig() (piapi.Config, []string, error) {
	if f.Config != nil {
		return f.Config()
	}
	return piapi.LoadConfig("", "", f.Getenv)
}

// trace is where HTTP traces go (--debug), or nil.
func (f *Factory) trace() io.Writer {
	if f.Trace == nil {
		return nil
	}
	return f.Trace()
}

// apiBase is the configured Pi API base URL ("" when none is, or the config cannot be
// read: the command that needs the API says why).
func (f *Factory) apiBase() string {
	cfg, _, err := f.loadConfig()
	if err != nil {
		return ""
	}
	return cfg.BaseURL
}

// apiConfig resolves the Pi API settings, printing the config file's warnings. It is
// called only by commands that talk to the API, so other commands never read config.
func (f *Factory) apiConfig() (piapi.Config, error) {
	cfg, warns, err := f.loadConfig()
	if err != nil {
		return cfg, err
	}
	for _, w := range warns {
		fmt.Fprintln(f.IO.ErrOut, "warning: "+w)
	}
	cfg.UserAgent = f.Build.UserAgent()
	if t := f.trace(); t != nil {
		cfg.Debug = t
	}
	if cfg.BaseURL != "" {
		cfg.Limiter = f.limiters.For(cfg.BaseURL)
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

// sandboxClient starts the in-process simulated server (--sandbox) as spec says and
// returns a client of it (with --debug honoured) and the session, which Close stops.
func (f *Factory) sandboxClient(ctx context.Context, spec sandboxSpec) (*piapi.Client, *sandboxSession, error) {
	sess, err := startSandbox(ctx, f.Getenv, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("start the sandbox: %w", err)
	}
	cfg := piapi.Config{BaseURL: sess.inst.URL, APIKey: sess.inst.APIKey, UserAgent: f.Build.UserAgent(),
		Limiter: f.limiters.For(sess.inst.URL)}
	if t := f.trace(); t != nil {
		cfg.Debug = t
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
	if cfg, _, err := f.loadConfig(); err == nil {
		keys = append(keys, cfg.APIKey)
	}
	return safe.NewRedactor(keys...)
}
