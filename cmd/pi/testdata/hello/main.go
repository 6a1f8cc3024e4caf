// Command hello is the smallest Go program: BenchmarkStartup's baseline for what starting any
// Go process costs on the machine at hand.
package main

import "os"

func main() { os.Stdout.WriteString("hello\n") }
