package cli

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/safe"
)

// Browser opens a page (a URL or a file's path) in the user's web browser, as gh's --web
// does.
type Browser interface {
	Browse(target string) error
}

// errNoBrowser: neither $BROWSER nor the system's opener is there.
var errNoBrowser = errors.New("no browser found")

// systemBrowser is $BROWSER (a command; the page is its last argument), else the system's
// opener: open on macOS, xdg-open (or wslview) elsewhere, rundll32 on Windows.
type systemBrowser struct {
	getenv   func(string) string
	lookPath func(string) (string, error)
}

// browser is the Factory's Browser, else the system's.
func (f *Factory) browser() Browser {
	if f.Browser != nil {
		return f.Browser
	}
	return systemBrowser{getenv: f.Getenv, lookPath: exec.LookPath}
}

func (b systemBrowser) command(target string) ([]string, error) {
	if env := strings.Fields(b.getenv("BROWSER")); len(env) > 0 {
		return append(env, target), nil
	}
	var candidates [][]string
	switch runtime.GOOS {
	case "darwin":
		candidates = [][]string{{"open"}}
	case "windows":
		candidates = [][]string{{"rundll32", "url.dll,FileProtocolHandler"}}
	default:
		candidates = [][]string{{"xdg-open"}, {"wslview"}}
	}
	for _, c := range candidates {
		if _, err := b.lookPath(c[0]); err == nil {
			return append(c, target), nil
		}
	}
	return nil, errNoBrowser
}

// browserStartWait is how long Browse waits for the opener to say it failed: xdg-open and
// open answer at once, while a browser named by $BROWSER may keep running (it is left to
// run).
const browserStartWait = 5 * time.Second

func (b systemBrowser) Browse(target string) error {
	argv, err := b.command(target)
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(browserStartWait)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", argv[0], err)
		}
	case <-timer.C:
	}
	return nil
}

// openPage opens path in the browser, saying so on stderr. Without a browser (or when it
// fails) it says where the page is instead: the page is written either way, so that is
// not an error.
func openPage(ios *render.IOStreams, browser func() Browser, path string) {
	shown := safe.Text(path)
	if err := browser().Browse(path); err != nil {
		hint := ""
		if errors.Is(err, errNoBrowser) {
			hint = " (set BROWSER to the command of one)"
		}
		fmt.Fprintf(ios.ErrOut, "%s%s; open %s yourself\n", safe.Text(err.Error()), hint, shown)
		return
	}
	fmt.Fprintf(ios.ErrOut, "Opening %s in your browser.\n", shown)
}
