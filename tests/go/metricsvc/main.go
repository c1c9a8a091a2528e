// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// metricsvc is the Go service of the reconciliation tests: it serves its
// runtime's numbers the two ways Go services do, /metrics through the real
// Prometheus client library (go_memstats_*) and /debug/vars through expvar
// ("memstats"), grows its heap, drops it, lets the background scavenger
// release part of it, calls debug.FreeOSMemory, and holds. Throughout, it
// logs its own runtime.ReadMemStats as JSON lines stamped with
// CLOCK_MONOTONIC (the clock of madvtrace's records): the oracle that the
// recorded HeapReleased is checked against.
package main

import (
	"encoding/json"
	_ "expvar" // /debug/vars
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const pageSize = 4096

// monoNs is CLOCK_MONOTONIC in nanoseconds, as bpf_ktime_get_ns and madvtrace's records.
func monoNs() uint64 {
	var ts syscall.Timespec
	const clockMonotonic = 1
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	return uint64(ts.Sec)*1e9 + uint64(ts.Nsec)
}

type logger struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// log writes one line: the phase and the runtime's numbers, read now.
func (l *logger) log(phase string) {
	var m runtime.MemStats
	t0 := monoNs()
	runtime.ReadMemStats(&m)
	t1 := monoNs()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.enc.Encode(map[string]interface{}{
		"t_ns":         (t0 + t1) / 2,
		"phase":        phase,
		"HeapReleased": m.HeapReleased,
		"HeapIdle":     m.HeapIdle,
		"HeapInuse":    m.HeapInuse,
		"HeapSys":      m.HeapSys,
		"Sys":          m.Sys,
		"StackInuse":   m.StackInuse,
		"NextGC":       m.NextGC,
		"NumGC":        m.NumGC,
	})
}

func grow(sizeMiB int) [][]byte {
	chunks := make([][]byte, 0, sizeMiB)
	for i := 0; i < sizeMiB; i++ {
		c := make([]byte, 1<<20)
		for j := 0; j < len(c); j += pageSize {
			c[j] = byte(i)
		}
		chunks = append(chunks, c)
	}
	return chunks
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve /metrics and /debug/vars on")
	portFile := flag.String("port-file", "", "write the port here once listening")
	logFile := flag.String("log", "", "JSON lines of runtime.MemStats (default: stderr)")
	every := flag.Duration("every", 50*time.Millisecond, "how often to log MemStats")
	wait := flag.Duration("wait", 0, "serve this long before growing (time to attach)")
	size := flag.Int("size", 256, "heap to grow to, in MiB")
	idle := flag.Duration("idle", time.Second, "let the background scavenger work this long")
	hold := flag.Duration("hold", 2*time.Second, "hold after debug.FreeOSMemory")
	serveAfter := flag.Duration("serve-after", 0, "keep serving this long after the hold, then exit")
	flag.Parse()

	out := os.Stderr
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "metricsvc:", err)
			os.Exit(1)
		}
		defer f.Close()
		out = f
	}
	lg := &logger{enc: json.NewEncoder(out)}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "metricsvc:", err)
		os.Exit(1)
	}
	http.Handle("/metrics", promhttp.Handler())
	go http.Serve(ln, nil)
	if *portFile != "" {
		port := ln.Addr().(*net.TCPAddr).Port
		if err := os.WriteFile(*portFile, []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "metricsvc:", err)
			os.Exit(1)
		}
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(*every)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				lg.log("tick")
			}
		}
	}()

	lg.log("start")
	time.Sleep(*wait)
	chunks := grow(*size)
	lg.log("grown")
	chunks = nil
	runtime.GC()
	// the first cycle's scavenger goal still counts what its sweep frees: a second lowers it
	runtime.GC()
	lg.log("dropped")
	time.Sleep(*idle)
	lg.log("scavenged")
	debug.FreeOSMemory()
	lg.log("freed")
	time.Sleep(*hold)
	lg.log("held")
	time.Sleep(*serveAfter)
	close(stop)
	<-done
	lg.log("end")
	runtime.KeepAlive(chunks)
}
