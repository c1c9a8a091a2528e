// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// A Go program that turns `madvtrace godebug`'s run directory against root
// (tests/integration/test_sec2_godebug.py). It finds the directory in the
// "-o DIR/runN.mtr" of the madvtrace that runs it, then, by SEC2_PLANT:
//
//	link:VICTIM  on the first run, DIR/run1.log -> VICTIM
//	fifo         on the last run (madvdontneed=1), DIR/run2.mtr swapped for a FIFO
//
// and releases some memory, as the Go programs godebug checks do.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The directory of the trace the closest madvtrace ancestor writes.
func runDir() string {
	pid := os.Getppid()
	for i := 0; i < 8 && pid > 1; i++ {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil {
			args := strings.Split(string(b), "\x00")
			for j := 0; j+1 < len(args); j++ {
				if args[j] == "-o" {
					return filepath.Dir(args[j+1])
				}
			}
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			break
		}
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+2:]))
		pid, _ = strconv.Atoi(f[1])
	}
	return ""
}

func main() {
	plant := os.Getenv("SEC2_PLANT")
	godebug := os.Getenv("GODEBUG")
	dir := runDir()
	if dir == "" {
		fmt.Fprintln(os.Stderr, "sec2_plant: no madvtrace -o among my ancestors")
		os.Exit(1)
	}
	switch {
	case strings.HasPrefix(plant, "link:") && !strings.Contains(godebug, "madvdontneed"):
		err := os.Symlink(plant[5:], filepath.Join(dir, "run1.log"))
		fmt.Println("planted run1.log:", err)
	case plant == "fifo" && strings.Contains(godebug, "madvdontneed=1"):
		t := filepath.Join(dir, "run2.mtr")
		err := os.Rename(t, t+".moved")
		if err == nil {
			err = syscall.Mkfifo(t, 0666)
		}
		fmt.Println("planted run2.mtr FIFO:", err)
	}
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = 1
	}
	b = nil
	debug.FreeOSMemory()
	time.Sleep(300 * time.Millisecond)
}
