// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// binfo is the Go program of the goinfo and symbolize unit tests. It is
// built several ways (static, dynamic with cgo, stripped, PIE) and:
//   - with -release MIB, grows the heap by that much, drops it and calls
//     debug.FreeOSMemory, so strace can see which advice the runtime uses;
//   - with -callers, prints "pc entry name" for the frames of its own stack
//     and for a few functions (the runtime's own answer to "which function
//     is at this address"), then "ready", and waits for stdin to close so
//     the test can read /proc/PID/maps meanwhile.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
)

var sink [][]byte

// The net import makes a CGO_ENABLED=1 build dynamically linked (cgo resolver).
var loopback = net.ParseIP("127.0.0.1")

func release(mib int) {
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		sink = append(sink, b)
	}
	sink = nil
	runtime.GC()
	// a func value keeps runtime/debug.FreeOSMemory a function of its own
	free := debug.FreeOSMemory
	free()
}

func describe(w io.Writer, pc uintptr) {
	f := runtime.FuncForPC(pc)
	if f == nil {
		return
	}
	// the entry is unambiguous; pc may be in code inlined from elsewhere
	entry := f.Entry()
	fmt.Fprintf(w, "0x%x 0x%x %s\n", pc, entry, runtime.FuncForPC(entry).Name())
}

//go:noinline
func inner(w io.Writer) {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(0, pcs)
	for _, pc := range pcs[:n] {
		// a return address: the call is at pc-1
		describe(w, pc-1)
	}
}

//go:noinline
func outer(w io.Writer) {
	inner(w)
}

func main() {
	mib := flag.Int("release", 0, "grow the heap by this many MiB, then release it")
	callers := flag.Bool("callers", false, "print addresses and names, then wait for stdin to close")
	flag.Parse()
	if *mib > 0 {
		release(*mib)
	}
	if *callers {
		w := bufio.NewWriter(os.Stdout)
		outer(w)
		for _, f := range []interface{}{debug.FreeOSMemory, runtime.GC, release, main} {
			describe(w, reflect.ValueOf(f).Pointer())
		}
		fmt.Fprintln(w, "ready")
		w.Flush()
		io.Copy(io.Discard, os.Stdin)
	}
	if loopback == nil {
		os.Exit(1)
	}
}
