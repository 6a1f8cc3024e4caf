package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/sandbox"
)

type serveOptions struct {
	Out, ErrOut io.Writer
	Getenv      func(string) string

	Addr        string
	APIKey      string
	DBPath      string
	Latency     time.Duration
	FailRate    float64
	FailFirst   int
	ErrorRate   float64
	RateLimit   sandbox.Rate
	AllowRemote bool
	// PublicURL is --public-url: the origin of the ads' image URLs; "" takes the listener's.
	PublicURL string

	// handling, when set, is called as each request reaches the server's handler (tests use
	// it to know a request is in flight, not just sent).
	handling func(*http.Request)
}

func newServeCmd(f *Factory) *cobra.Command {
	return newServeCmdWith(f, nil)
}

// newServeCmdWith builds `pi serve`; runF replaces the run function in tests.
func newServeCmdWith(f *Factory, runF func(context.Context, *serveOptions) error) *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Annotations: map[string]string{signalsAnnotation: "yes"},
		Use:         "serve",
		Short:       "Run the simulated Pi server on loopback",
		Long: `Run the simulated Pi server: the Runs API, the action endpoints and jobs, with
the real server's envelopes, errors and step semantics. Jobs take --latency (±20 %),
and a job whose url or prompt contains the word "fail" fails, so failure paths can
be tried on purpose. Each finished ad job's image is a real PNG that the server
serves itself, without a key, at its image_url (/files/campaigns/ORG/JOB.png), so
'pi runs download' and reports work offline. Runs and jobs are kept in an SQLite file (--db); a restart
loses nothing and resumes the runs it cut off.

The first line on stderr is "listening on http://HOST:PORT"; then one line per
request. Without --api-key a key is generated and printed. Ctrl-C stops it
gracefully.

Exit codes: 0 stopped (Ctrl-C, SIGTERM), 2 bad flags (--addr, rates), 4 it cannot
listen on --addr (a port in use) or open --db.`,
		Example: `  pi serve
  pi serve --addr 127.0.0.1:0 --db :memory: --latency 50ms
  pi serve --fail-rate 0.2 --error-rate 0.1 --rate-limit 120/min
  pi serve --fail-first 1     # the first job fails: a client's retry, reproducibly`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Out, opts.ErrOut, opts.Getenv = f.IO.Out, f.IO.ErrOut, f.Getenv
			if err := checkServeOptions(opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runServe(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:8080", "address to listen on (loopback only unless --allow-remote; port 0 picks a free one)")
	fl.StringVar(&opts.APIKey, "api-key", "", "the key clients must send (default: a generated pi_test_... key, printed)")
	fl.StringVar(&opts.DBPath, "db", "", "SQLite file of runs and jobs, or :memory: (default $XDG_STATE_HOME/pi/sandbox.db)")
	fl.DurationVar(&opts.Latency, "latency", time.Second, "how long a simulated job takes (±20 % jitter)")
	fl.Float64Var(&opts.FailRate, "fail-rate", 0, "share of jobs that fail at random (0..1)")
	fl.IntVar(&opts.FailFirst, "fail-first", 0, "the first N jobs fail, then jobs behave as usual (a reproducible retry)")
	fl.Float64Var(&opts.ErrorRate, "error-rate", 0, "share of requests answered 503 (0..1)")
	fl.Var(rateFlag{&opts.RateLimit}, "rate-limit", "requests allowed per window, N/min, N/s or N/h (a bare N: per second), then 429 with Retry-After, as the Pi server (0: no limit)")
	fl.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow listening on a non-loopback address")
	fl.StringVar(&opts.PublicURL, "public-url", "", "the origin clients reach the server at, for the images' URLs (default: the listening address; this machine's name on 0.0.0.0)")
	return cmd
}

func checkServeOptions(o *serveOptions) error {
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return UsageErrorf("--addr %q: %v (want HOST:PORT, e.g. 127.0.0.1:8080)", o.Addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return UsageErrorf("--addr %q: port %q is not a number from 0 to 65535 (0 picks a free one)", o.Addr, port)
	}
	if !o.AllowRemote && !piapi.IsLoopback(host) {
		return UsageErrorf("--addr %q is not a loopback address: the sandbox would be reachable from other machines (use 127.0.0.1, or add --allow-remote)", o.Addr)
	}
	if o.Latency <= 0 {
		return UsageErrorf("--latency must be positive (got %s)", o.Latency)
	}
	if o.FailRate < 0 || o.FailRate > 1 {
		return UsageErrorf("--fail-rate must be between 0 and 1 (got %g)", o.FailRate)
	}
	if o.FailFirst < 0 {
		return UsageErrorf("--fail-first must be 0 or more (got %d)", o.FailFirst)
	}
	if o.ErrorRate < 0 || o.ErrorRate > 1 {
		return UsageErrorf("--error-rate must be between 0 and 1 (got %g)", o.ErrorRate)
	}
	if o.PublicURL != "" {
		u, err := url.Parse(o.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
			strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
			return UsageErrorf("--public-url %q: want an origin such as http://sandbox.internal:8080 (http or https, a host, no path)", o.PublicURL)
		}
		o.PublicURL = u.Scheme + "://" + u.Host
	}
	return nil
}

// imageOrigin is the origin of the images' URLs: --public-url, else the listener's
// address; on every interface (0.0.0.0, ::) this machine's name with the listener's port.
// Never a request's Host header: any client could choose it, and every later image URL
// would point where it said.
func imageOrigin(public string, ln net.Listener) string {
	if public != "" {
		return public
	}
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsUnspecified() {
		return "http://" + addr.String()
	}
	return "http://" + net.JoinHostPort(serveHostname(), strconv.Itoa(addr.Port))
}

// serveHostname is this machine's name, or localhost when it has none.
func serveHostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// defaultSandboxDB is $XDG_STATE_HOME/pi/sandbox.db (~/.local/state when unset).
func defaultSandboxDB(getenv func(string) string) string {
	dir := getenv("XDG_STATE_HOME")
	if dir == "" {
		dir = filepath.Join(getenv("HOME"), ".local", "state")
	}
	return filepath.Join(dir, "pi", "sandbox.db")
}

func runServe(ctx context.Context, o *serveOptions) error {
	generated := o.APIKey == ""
	key := o.APIKey
	if generated {
		key = sandbox.NewAPIKey()
	}
	db := o.DBPath
	if db == "" {
		db = defaultSandboxDB(o.Getenv)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: fmt.Errorf("listen on %s: %w (is another server using the port? try --addr 127.0.0.1:0)", o.Addr, err)}
	}
	url := "http://" + ln.Addr().String()
	public := imageOrigin(o.PublicURL, ln)
	s, err := sandbox.New(sandbox.Options{
		APIKey: key, DBPath: db, Latency: o.Latency, FailRate: o.FailRate, FailFirst: o.FailFirst,
		ErrorRate: o.ErrorRate, RateLimit: o.RateLimit, Logger: o.ErrOut, PublicURL: public,
	})
	if err != nil {
		ln.Close()
		return &ExitError{Code: ExitAPI, Err: fmt.Errorf("start the sandbox: %w", err)}
	}
	fmt.Fprintf(o.ErrOut, "listening on %s\n", url)
	if generated {
		// The sandbox's own key, generated now: printing it is how clients learn it.
		fmt.Fprintf(o.ErrOut, "api key: %s\n", key)
	}
	fmt.Fprintf(o.ErrOut, "database: %s\n", db)
	if o.RateLimit.N > 0 {
		fmt.Fprintf(o.ErrOut, "rate limit: %s, counted as the Pi server does (429 unkey_rate_limited past it)\n", o.RateLimit)
	}
	fmt.Fprintf(o.ErrOut, "images: %s/files/ (--public-url sets the origin)\n", public)
	fmt.Fprintf(o.ErrOut, "use it: export PI_BASE_URL=%s PI_API_KEY=<the key>\n", url)

	var handler http.Handler = s
	if o.handling != nil {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			o.handling(r)
			s.ServeHTTP(w, r)
		})
	}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-served:
		s.Close()
		return fmt.Errorf("serve on %s: %w", url, err)
	}
	fmt.Fprintln(o.ErrOut, "shutting down: answering open long-polls, saving runs")
	err = sandbox.Shutdown(context.Background(), hs, s)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	fmt.Fprintln(o.ErrOut, "stopped")
	return nil
}
