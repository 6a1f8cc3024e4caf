// Package reaper is the process that kills a pi's running steps when pi goes away, however
// it goes (kill -9 included), and the scan of /proc that finds a step's processes that left
// its process group (KillMarked), which shell.run also runs at each step's end. pi's side,
// starting the reaper and telling it which steps run, is the actions package's.
//
// The reaper is pi's own executable started again, and this package's init turns that
// process into the reaper. Go initialises a package once its imports are, the first in
// import-path order among those ready, so this package imports only what Go initialises
// first (os, os/signal, bytes, strconv, io, syscall, time; not strings, nor bufio, which
// imports it): then it is initialised before pi's libraries (SQLite, gojq, yaml.v3, the
// terminal's, net/http) and pi's other packages, which the reaper never uses. A reaper then
// costs 2.9-3.2 ms of CPU where initialising all of pi first cost 4.3-4.8 ms (issue 18:
// the fixed cost of a small local run). TestReaperStartsBeforePi (internal/cli) checks it
// on pi's executable.
package reaper
