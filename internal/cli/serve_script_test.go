package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// serveScriptCommands let scripts talk to a `pi serve` started in the background:
//
//	freeport NAME                   set $NAME to a free loopback port
//	pihttp [-retry] [-save NAME=FIELD] METHOD URL [BODY]
//	                                one request with "Authorization: Bearer $SANDBOX_KEY";
//	                                stdout gets "HTTP <status>" then the body. -retry waits
//	                                (up to 10 s) for the server to start listening; -save
//	                                sets $NAME to the envelope's data.FIELD.
func serveScriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"freeport": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: freeport NAME")
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			ts.Check(err)
			port := ln.Addr().(*net.TCPAddr).Port
			ts.Check(ln.Close())
			ts.Setenv(args[0], strconv.Itoa(port))
		},
		"pihttp": func(ts *testscript.TestScript, neg bool, args []string) {
			var retry bool
			var saveName, saveField string
			for len(args) > 0 && strings.HasPrefix(args[0], "-") {
				switch {
				case args[0] == "-retry":
					retry, args = true, args[1:]
				case args[0] == "-save" && len(args) > 1:
					saveName, saveField, _ = strings.Cut(args[1], "=")
					args = args[2:]
				default:
					ts.Fatalf("pihttp: unknown option %s", args[0])
				}
			}
			if neg || len(args) < 2 || len(args) > 3 {
				ts.Fatalf("usage: pihttp [-retry] [-save NAME=FIELD] METHOD URL [BODY]")
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				var body io.Reader
				if len(args) == 3 {
					body = strings.NewReader(args[2])
				}
				req, err := http.NewRequest(args[0], args[1], body)
				ts.Check(err)
				req.Header.Set("Authorization", "Bearer "+ts.Getenv("SANDBOX_KEY"))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil && retry && errors.Is(err, syscall.ECONNREFUSED) && time.Now().Before(deadline) {
					// The background server is still starting; a connection attempt is
					// the only way to know when it listens.
					time.Sleep(20 * time.Millisecond)
					continue
				}
				ts.Check(err)
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				ts.Check(err)
				fmt.Fprintf(ts.Stdout(), "HTTP %d\n%s", resp.StatusCode, b)
				if saveName != "" {
					var env struct {
						Data map[string]any `json:"data"`
					}
					ts.Check(json.Unmarshal(b, &env))
					v, ok := env.Data[saveField].(string)
					if !ok {
						ts.Fatalf("pihttp: no string data.%s in %s", saveField, b)
					}
					ts.Setenv(saveName, v)
				}
				return
			}
		},
	}
}
