// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// spike is the Go workload of the report's integration tests: it grows its
// heap to about -size MiB (writing every page), drops it, runs runtime.GC and
// debug.FreeOSMemory, holds for -hold, and prints one JSON object with
// runtime.MemStats and what /proc says about itself (VmRSS, RssAnon, and
// smaps_rollup Rss and LazyFree). These are the oracles the report's
// released-lazily and released-eagerly figures are checked against.
//
// With -idle DUR it does not call debug.FreeOSMemory: it idles for DUR after
// the GC, so that only the runtime's background scavenger releases memory.
// HeapReleased is read just before and after debug.FreeOSMemory (or the
// idle time), so the output says how much that step released. -gcpercent -1
// turns the GC off, and with it the scavenger's goal: then only
// debug.FreeOSMemory releases.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

const pageSize = 4096

// procKiB returns the "Key:   N kB" values of a /proc file, in bytes.
func procKiB(path string, keys ...string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		k := strings.TrimSuffix(fields[0], ":")
		if !want[k] {
			continue
		}
		v, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", path, k, err)
		}
		out[k] = v * 1024
	}
	for k := range want {
		if _, ok := out[k]; !ok {
			return nil, fmt.Errorf("%s: no %s", path, k)
		}
	}
	return out, sc.Err()
}

// grow allocates size MiB in chunk-sized slices and writes every page, so the
// memory is really resident.
func grow(sizeMiB, chunkKiB int) [][]byte {
	n := sizeMiB * 1024 / chunkKiB
	chunks := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		c := make([]byte, chunkKiB*1024)
		for j := 0; j < len(c); j += pageSize {
			c[j] = byte(i)
		}
		chunks = append(chunks, c)
	}
	return chunks
}

func main() {
	size := flag.Int("size", 512, "heap to grow to, in MiB")
	chunk := flag.Int("chunk", 1024, "allocation size, in KiB")
	hold := flag.Duration("hold", 2*time.Second, "time to wait after releasing")
	ready := flag.String("ready", "", "create this file once the memory is released")
	idle := flag.Duration("idle", 0, "idle this long instead of calling debug.FreeOSMemory")
	gcPercent := flag.Int("gcpercent", 100, "debug.SetGCPercent; -1 also keeps the "+
		"background scavenger idle, so only debug.FreeOSMemory releases")
	flag.Parse()
	if *size <= 0 || *chunk <= 0 || *idle < 0 {
		fmt.Fprintln(os.Stderr, "spike: -size and -chunk must be positive, -idle not negative")
		os.Exit(2)
	}

	debug.SetGCPercent(*gcPercent)
	chunks := grow(*size, *chunk)
	var peak runtime.MemStats
	runtime.ReadMemStats(&peak)
	touched := 0
	for _, c := range chunks {
		touched += len(c)
	}
	chunks = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if *idle > 0 {
		// The scavenger's goal is set at the end of a GC cycle from the heap
		// in use then, which for the first cycle still counts the spans its
		// sweep frees afterwards: a second cycle lowers the goal.
		runtime.GC()
		time.Sleep(*idle)
	} else {
		debug.FreeOSMemory()
	}
	runtime.ReadMemStats(&after)
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte("released\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "spike:", err)
			os.Exit(1)
		}
	}
	time.Sleep(*hold)

	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	status, err := procKiB("/proc/self/status", "VmRSS", "RssAnon")
	if err != nil {
		fmt.Fprintln(os.Stderr, "spike:", err)
		os.Exit(1)
	}
	rollup, err := procKiB("/proc/self/smaps_rollup", "Rss", "LazyFree")
	if err != nil {
		fmt.Fprintln(os.Stderr, "spike:", err)
		os.Exit(1)
	}
	out := map[string]interface{}{
		"pid":            os.Getpid(),
		"go_version":     runtime.Version(),
		"GODEBUG":        os.Getenv("GODEBUG"),
		"touched_bytes":  touched,
		"peak_heap_sys":  peak.HeapSys,
		"HeapReleased":   m.HeapReleased,
		"HeapIdle":       m.HeapIdle,
		"HeapInuse":      m.HeapInuse,
		"HeapSys":        m.HeapSys,
		"HeapAlloc":      m.HeapAlloc,
		"Sys":            m.Sys,
		"NumGC":          m.NumGC,
		"VmRSS_bytes":    status["VmRSS"],
		"RssAnon_bytes":  status["RssAnon"],
		"SmapsRss_bytes": rollup["Rss"],
		"LazyFree_bytes": rollup["LazyFree"],
		// what debug.FreeOSMemory (or, with -idle, the scavenger meanwhile) released
		"step_released": int64(after.HeapReleased) - int64(before.HeapReleased),
		"idle":          idle.String(),
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "spike:", err)
		os.Exit(1)
	}
}
