package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/pi-cli/pi/internal/engine"
)

// MaxOutput caps what shell.run keeps of stdout and of stderr.
const MaxOutput = 1 << 20

// stderrTail is how many lines of stderr a failure message ends with.
const stderrTail = 5

// capped keeps the first MaxOutput bytes and drops (but counts) the rest, so a chatty
// command cannot exhaust memory.
type capped struct {
	buf       bytes.Buffer
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := MaxOutput - c.buf.Len(); room < len(p) {
		c.truncated = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}

// ShellRun runs the step's `command` (argv, no shell) or `script` (sh -c) in its own
// process group, killed as a whole when ctx ends (timeout, cancellation).
func ShellRun(ctx context.Context, req engine.Request) (map[string]any, error) {
	in := req.Input
	var argv []string
	switch {
	case in["command"] != nil:
		list, ok := in["command"].([]any)
		if !ok || len(list) == 0 {
			return nil, engine.Permanent(errors.New("shell.run: input command must be a non-empty list of strings"))
		}
		for _, a := range list {
			argv = append(argv, fmt.Sprint(a))
		}
	case in["script"] != nil:
		s, ok := in["script"].(string)
		if !ok {
			return nil, engine.Permanent(errors.New("shell.run: input script must be a string"))
		}
		argv = []string{"sh", "-c", s}
	default:
		return nil, engine.Permanent(errors.New("shell.run: input needs command (a list) or script (a string)"))
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if dir, ok := in["dir"].(string); ok {
		cmd.Dir = dir
	}
	if env, ok := in["env"].(map[string]any); ok {
		cmd.Env = os.Environ()
		for k, v := range env {
			s, isStr := v.(string)
			if !isStr {
				b, err := json.Marshal(v)
				if err != nil {
					return nil, engine.Permanent(fmt.Errorf("shell.run: env %s: %w", k, err))
				}
				s = string(b)
			}
			cmd.Env = append(cmd.Env, k+"="+s)
		}
	}
	if stdin, ok := in["stdin"].(string); ok {
		cmd.Stdin = strings.NewReader(stdin)
	}
	// The output goes through pipes of our own rather than os/exec's: Wait then returns when
	// the command exits, not when the last process holding its output exits, so a script
	// that leaves a child in the background (`server &`) does not hang the step; the group
	// kill below ends that child and with it the pipes.
	var stdout, stderr capped
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("shell.run: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("shell.run: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	startGroup(cmd)
	startErr := cmd.Start()
	outW.Close()
	errW.Close()
	if startErr != nil {
		outR.Close()
		errR.Close()
		return nil, engine.Permanent(fmt.Errorf("shell.run: starting %s: %w", argv[0], startErr))
	}
	var copies sync.WaitGroup
	copies.Go(func() { _, _ = io.Copy(&stdout, outR); outR.Close() })
	copies.Go(func() { _, _ = io.Copy(&stderr, errR); errR.Close() })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
		// The leader exited; anything it left in its group goes too.
		killGroup(cmd)
		copies.Wait()
	case <-ctx.Done():
		// Kill the whole group: sh -c's children would otherwise outlive the step.
		killGroup(cmd)
		<-done
		copies.Wait()
		return nil, fmt.Errorf("shell.run: %s killed: %w", argv[0], context.Cause(ctx))
	}
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, engine.Permanent(fmt.Errorf("shell.run: %s: %w", argv[0], err))
		}
		code = ee.ExitCode()
		msg := fmt.Sprintf("shell.run: %s exited with status %d", argv[0], code)
		if tail := lastLines(stderr.buf.String(), stderrTail); tail != "" {
			msg += ": " + tail
		}
		return nil, &engine.StepError{Err: errors.New(msg), Result: map[string]any{
			"stdout": stdout.buf.String(), "stderr": stderr.buf.String(), "exit_code": code,
		}}
	}
	out := stdout.buf.Bytes()
	if t := bytes.TrimSpace(out); len(t) > 0 && t[0] == '{' && !stdout.truncated {
		var obj map[string]any
		if json.Unmarshal(t, &obj) == nil {
			return obj, nil
		}
	}
	res := map[string]any{"stdout": string(out), "stderr": stderr.buf.String(), "exit_code": code}
	if stdout.truncated || stderr.truncated {
		res["truncated"] = true
	}
	return res, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
