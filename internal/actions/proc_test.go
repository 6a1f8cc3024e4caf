//go:build linux

package actions

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// markedPIDs lists the processes whose environment holds MARK=mark.
func markedPIDs(mark string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, p := range dirs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), "\x00MARK="+mark+"\x00") || strings.HasPrefix(string(b), "MARK="+mark+"\x00") {
			if pid, err := strconv.Atoi(strings.Split(p, "/")[2]); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// waitGone waits until no process carries the mark (SIGKILLed processes take a moment to
// be reaped), failing after a hang guard.
func waitGone(t *testing.T, mark string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		pids := markedPIDs(mark)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v of the step still run", pids)
		}
		time.Sleep(20 * time.Millisecond) // polling the kernel's process table, not synchronising with pi
	}
}

// A child that escapes the step's process group (setsid) and holds its output pipes
// neither holds the step past its timeout nor survives it; after a normal end neither.
func TestShellRunSetsidChild(t *testing.T) {
	for _, tt := range []struct {
		name, script string
		timeout      time.Duration
	}{
		{"timeout", "setsid sleep 30 & sleep 30", 300 * time.Millisecond},
		{"normal end", "setsid sleep 30 & echo started", 0},
		{"double fork", "(setsid sh -c 'sleep 30 & sleep 30' &) ; sleep 30", 300 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mark := "setsid-" + strconv.Itoa(os.Getpid()) + "-" + strings.ReplaceAll(tt.name, " ", "-")
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			done := make(chan error, 1)
			go func() {
				_, err := shellRun(ctx, req("shell.run", map[string]any{"script": tt.script, "env": map[string]any{"MARK": mark}}))
				done <- err
			}()
			select {
			case err := <-done:
				if (tt.timeout > 0) != (err != nil) {
					t.Fatalf("err = %v", err)
				}
			case <-time.After(20 * time.Second): // a hang guard: the children sleep 30 s
				t.Fatal("shell.run waited for the escaped child")
			}
			waitGone(t, mark)
		})
	}
}

// Children do not inherit PI_API_KEY; a step passes it on purpose through env.
func TestShellRunEnvWithoutKey(t *testing.T) {
	t.Setenv("PI_API_KEY", "pi_live_inherited0123")
	res, err := shellRun(context.Background(), req("shell.run", map[string]any{"script": `echo "k=$PI_API_KEY"`}))
	if err != nil || res["stdout"] != "k=\n" {
		t.Fatalf("inherited: %v %v", res, err)
	}
	res, err = shellRun(context.Background(), req("shell.run", map[string]any{"script": `echo "k=$PI_API_KEY"`, "env": map[string]any{"PI_API_KEY": "given"}}))
	if err != nil || res["stdout"] != "k=given\n" {
		t.Fatalf("explicit: %v %v", res, err)
	}
}
