/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The eBPF program in counting mode, for the exporter: loaded from the same
 * skeleton as the records mode, with count_mode set, the ring-buffer paths
 * left out, and the counters read from a per-CPU hash.
 */
#ifndef MT_COUNT_BPF_H
#define MT_COUNT_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MT_COUNT_MAX_CGROUPS 4
#define MT_COUNT_MAX_COMMS 4

struct mt_count_cfg {
	bool follow_forks;
	/*
	 * A records-mode instance shares the bitmap (recmode.h): its exit
	 * program clears the bits, this one's is not loaded.
	 */
	bool records;
	uint32_t max_procs; /* processes traced at once */
	uint32_t keys_per_proc; /* sizes the counter map: max_procs * keys_per_proc * 2 */
	uint32_t n_cgroups;
	struct {
		int32_t ssid; /* v1 controller id; -1: cgroup2 */
		uint32_t level;
		uint64_t id;
	} cg[MT_COUNT_MAX_CGROUPS];
	uint32_t n_comms;
	char comms[MT_COUNT_MAX_COMMS][16];
	int verbose;
};

/* One counter set, summed over CPUs. */
struct mt_counter {
	uint32_t tgid;
	uint32_t sc; /* enum mt_syscall (old_mmap folded into mmap), or MT_COUNT_LOST_SC */
	int32_t advice;
	uint64_t calls, bytes, errors;
};

struct mt_count_bpf;

/* Open, configure, load, attach; one line on stderr and -errno on failure. */
int mt_count_bpf__start(struct mt_count_bpf **out, const struct mt_count_cfg *cfg);
void mt_count_bpf__destroy(struct mt_count_bpf *cb);

/* Trace pid from now on (takes a slot); -ENOSPC when max_procs are traced. */
int mt_count_bpf__trace(struct mt_count_bpf *cb, pid_t pid);
bool mt_count_bpf__is_traced(struct mt_count_bpf *cb, pid_t pid);
/* Recount the traced processes from the bitmap (exits clear bits); returns how many. */
uint32_t mt_count_bpf__recount(struct mt_count_bpf *cb);
/* Call fn for each traced tgid. */
void mt_count_bpf__for_each_traced(struct mt_count_bpf *cb, void (*fn)(void *, pid_t), void *ctx);
/* The slot where the program counts pid's updates lost to a full map. */
int mt_count_bpf__add_lost_slot(struct mt_count_bpf *cb, pid_t pid);

/*
 * Every counter, summed over CPUs, sorted by (tgid, sc, advice), duplicates
 * merged; *out stays valid until the next call. 0 or -errno.
 */
int mt_count_bpf__read(struct mt_count_bpf *cb, const struct mt_counter **out, size_t *n);
/* Delete pid's counters (those of `all`, as read): its series are gone. */
void mt_count_bpf__forget(struct mt_count_bpf *cb, pid_t pid, const struct mt_counter *all,
			  size_t n);
/* First counter of pid in a sorted array, or n. */
size_t mt_counter__find(const struct mt_counter *all, size_t n, uint32_t tgid);

/* The bitmap of traced tgids, for a records-mode instance to share. */
int mt_count_bpf__traced_fd(struct mt_count_bpf *cb);

uint64_t mt_count_bpf__lost(struct mt_count_bpf *cb);
uint64_t mt_count_bpf__refused(struct mt_count_bpf *cb);

#endif
