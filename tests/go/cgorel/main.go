// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)

// A cgo program that releases memory from C called by Go, for the unwinder's
// mixed stacks (tests/integration/test_unwind_backends.py): main.main ->
// main.goCaller -> C c_release -> c_trim -> madvise(MADV_DONTNEED). The C
// side has no frame pointers (-fomit-frame-pointer); the Go side has Go's.
// It waits a little first, so that the recorder has read its mappings.
package main

/*
#cgo CFLAGS: -O2 -fomit-frame-pointer
#include <stddef.h>
#include <sys/mman.h>
static volatile int sinkv;
__attribute__((noinline)) static int c_trim(void *p, size_t n)
{
	int r = madvise(p, n, MADV_DONTNEED); // CALL:madvise
	sinkv++;
	return r;
}
__attribute__((noinline)) int c_release(void *p, size_t n)
{
	int r = c_trim(p, n); // CALL:c_trim
	sinkv++;
	return r;
}
*/
import "C"

import (
	"syscall"
	"time"
	"unsafe"
)

//go:noinline
func goCaller(b []byte) int {
	return int(C.c_release(unsafe.Pointer(&b[0]), C.size_t(len(b)))) // CALL:c_release
}

func main() {
	time.Sleep(300 * time.Millisecond)
	b, err := syscall.Mmap(-1, 0, 1<<20, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = 1
	}
	if goCaller(b) != 0 { // CALL:goCaller
		panic("madvise")
	}
}
