/*
 * target/internal.h — what the backends share with each other.  Nothing
 * outside target/ includes it; the interface is target.h.
 */
#ifndef PYHEAP_TARGET_INTERNAL_H
#define PYHEAP_TARGET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target.h"

/* live.c: whether t is a live target (the only kind an image copies). */
bool target_is_live(const struct target *t);
/* live.c: read what can be read of [addr, addr + len) of live target t, by
 * process_vm_readv() or, where that is refused, /proc/PID/mem.  *done
 * receives the bytes read before the first page that cannot be; 0, or
 * -PH_E_NOPROC, -PH_E_PERM, -PH_E_IO (errors not about one address).
 * addr + len must not wrap. */
int live_read_prefix(struct target *t, uint64_t addr, void *buf, size_t len,
		     size_t *done);

#endif
