// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Seeds of the gometrics fuzzer: the bodies Go services serve (client_golang
 * old and new, runtime/metrics names, labels, CRLF, expvar JSON) written
 * into the directory given, so mutations start from pages the parsers take.
 */
#include <stdio.h>
#include <string.h>

static const char *const seeds[] = {
	"# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.\n"
	"# TYPE go_gc_duration_seconds summary\n"
	"go_gc_duration_seconds{quantile=\"0\"} 2.4e-05\n"
	"go_gc_duration_seconds_sum 0.000321\n"
	"go_gc_duration_seconds_count 7\n"
	"# TYPE go_memstats_heap_idle_bytes gauge\n"
	"go_memstats_heap_idle_bytes 2.70041088e+08\n"
	"go_memstats_heap_inuse_bytes 1.015808e+06\n"
	"go_memstats_heap_released_bytes 1.36953856e+08\n"
	"go_memstats_heap_sys_bytes 2.71056896e+08\n"
	"go_memstats_next_gc_bytes 4.194304e+06\n"
	"go_memstats_stack_inuse_bytes 425984\n"
	"go_memstats_sys_bytes 2.8303364e+08\n",
	"go_gc_cycles_total_gc_cycles_total 12\n"
	"go_gc_heap_goal_bytes 4.194304e+06\n"
	"go_memory_classes_heap_free_bytes 1000\n"
	"go_memory_classes_heap_objects_bytes 20000\n"
	"go_memory_classes_heap_released_bytes 300000\n"
	"go_memory_classes_heap_stacks_bytes 4000000\n"
	"go_memory_classes_heap_unused_bytes 50000000\n"
	"go_memory_classes_total_bytes 7e+08\n",
	"go_memstats_heap_released_bytes_total 8192 1700000000000\r\n\r\n"
	"go_memstats_heap_idle_bytes{job=\"a} b\",x=\"\\\"}\\\\\"} NaN\r\n"
	"go_memstats_sys_bytes +Inf\r\n",
	"node_load1 0.21\nprocess_resident_memory_bytes 1e+07\n",
	"{\"cmdline\":[\"x\"],\"memstats\":{\"HeapSys\":271056896,\"HeapIdle\":270041088,"
	"\"HeapInuse\":1015808,\"HeapReleased\":136953856,\"Sys\":283033640,"
	"\"StackInuse\":425984,\"NextGC\":4194304,\"NumGC\":7,"
	"\"BySize\":[{\"Size\":0,\"Mallocs\":0,\"Frees\":0}]}}\n",
	"{\"memstats\":{\"HeapReleased\":18446744073709551615,\"HeapIdle\":-1,\"Sys\":4096.5}}",
	"<html><body>404</body></html>\n",
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char path[4096];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/gometrics-%zu", argv[1], i);
		fp = fopen(path, "wb");
		if (!fp || fwrite(seeds[i], 1, strlen(seeds[i]), fp) != strlen(seeds[i]) ||
		    fclose(fp)) {
			perror(path);
			return 1;
		}
	}
	return 0;
}
