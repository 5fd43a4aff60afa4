/*
 * symbols/ — what the target's ELF files say: symbol addresses, sections,
 * build-id, and (when DWARF is present) struct sizes and member offsets.
 *
 * struct objfile is one ELF object mapped into the target (the executable or
 * a shared library).  Files are opened through the target's root
 * ("/proc/PID/root" + path) so a process in a container is read with its own
 * files; if that fails, /proc/PID/map_files/START-END is tried (works for
 * deleted files).  All addresses returned are *runtime* addresses in the
 * target: st_value + bias, where
 *
 *   bias = start of the mapping with file offset 0
 *          - (p_vaddr of the first PT_LOAD, rounded down to a page)
 *
 * (0 for a non-PIE ET_EXEC such as Debian's /usr/bin/python3.11).  Mappings
 * are matched by device and inode, not by name, so a file mapped twice or
 * renamed is not confused with another.
 *
 * Symbols come from .dynsym and .symtab (both, .symtab first when present);
 * LTO-renamed locals ("foo.lto_priv.0") are also found by their base name.
 * DWARF comes from the file itself or, if it has none, from a separate debug
 * file found by build-id under /usr/lib/debug/.build-id/ or by
 * .gnu_debuglink next to the file / in /usr/lib/debug.
 *
 * The environment variable PYHEAP_NO_DEBUG_FILES (any value) turns the
 * separate-debug-file search off, so tests can take the path a machine
 * without debug packages takes.
 *
 * Ownership: objfile_open() fills *of; objfile_release() frees it.  Strings
 * returned point into the objfile and live as long as it does.  A failed
 * objfile_open()/objfile_open_path() leaves *of released, and
 * objfile_release() may be called on it again (it is idempotent).
 *
 * Returns: 0 on success; -PH_E_ELF for unreadable/invalid files;
 * -PH_E_NOTFOUND when a symbol, section, type or member is absent (not an
 * error for callers that have a fallback: nothing is printed).
 */
#ifndef PYHEAP_SYMBOLS_H
#define PYHEAP_SYMBOLS_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/base.h"
#include "../target/target.h"

struct objfile_sym;
struct objfile_section;
struct dwarf_index;

struct objfile {
	char *path;       /* path as the target maps it */
	char *open_path;  /* path actually opened */
	char *debug_path; /* separate debug file used for DWARF, or NULL */
	char *root;       /* prefix its debug files are looked for under (the
			   * target's root; "" for none), or NULL */
	uint64_t bias;
	uint64_t map_start, map_end; /* lowest and highest address of its maps */
	bool is_exec;     /* ET_EXEC (non-PIE executable) */
	bool has_symtab;  /* .symtab present (not stripped) */
	bool has_dwarf;   /* DWARF found (in file or debug file) */
	char build_id[41];/* hex, "" if none */

	/* private */
	struct objfile_sym *syms;
	size_t nsyms;
	uint32_t *by_addr;     /* syms by value, built by objfile_sym_at() */
	struct objfile_section *secs;
	size_t nsecs;
	int fd, debug_fd;
	void *elf, *debug_elf; /* Elf * */
	void *dwarf_elf;       /* the one of the two holding .debug_info */
	void *dwarf;           /* Dwarf * */
	struct dwarf_index *dwidx;
	bool fake;             /* made by objfile_fake_init() */
};

/* Open the ELF object that the target maps from mapping m (any mapping of
 * the file; its siblings are found by dev/inode).  DWARF is opened lazily on
 * the first objfile_dwarf_*() call. */
int objfile_open(struct objfile *of, const struct target *t,
		 const struct map *m);
/* Open a file on disk that is not mapped anywhere (tests, tools): bias 0. */
int objfile_open_path(struct objfile *of, const char *path);
void objfile_release(struct objfile *of);

/* Runtime address (and st_size) of a symbol.  addr and size may be NULL
 * (to ask whether it exists).  An exact name is preferred; else any
 * "name.suffix" (GCC's .lto_priv.N, .isra.N, .constprop.N) matches.  Among
 * equal names a .symtab global wins, then a .dynsym one, then a local. */
int objfile_sym(const struct objfile *of, const char *name, uint64_t *addr,
		uint64_t *size);
/* The function or data symbol covering a runtime address: its name,
 * runtime start and whether it is a function.  Any out-pointer may be
 * NULL.  -PH_E_NOTFOUND when no symbol covers addr. */
int objfile_sym_at(struct objfile *of, uint64_t addr, const char **name,
		   uint64_t *start, bool *func);
/* Runtime address and size of a section by name (".bss", ".PyRuntime"). */
int objfile_section(const struct objfile *of, const char *name,
		    uint64_t *addr, uint64_t *size);
/* Read bytes of a section from the file (not the target): for const data
 * such as .rodata.  Returns a pointer into libelf's data, valid while the
 * objfile is open. */
int objfile_section_data(const struct objfile *of, const char *name,
			 const void **data, uint64_t *size);

/* DWARF.  `type` is a typedef name ("PyInterpreterState") or a struct/union
 * tag ("_is", or "struct _is" — the keyword is optional; a bare name is
 * tried as a typedef first); the first complete definition in any
 * compilation unit is used, and a typedef of a struct that its own unit only
 * declares is completed through the struct's tag.  `path` is a member path:
 * "interpreters.head", with members of anonymous structs/unions found as if
 * they were direct members, and "name[i]" (or "name[i][j]") indexing arrays,
 * bounds-checked when the bound is known.  An empty path is offset 0.
 * -PH_E_NOTFOUND if there is no DWARF, no such type, no such member, an
 * index out of bounds, a malformed path, or a bit-field (which has no byte
 * offset); -PH_E_ELF if the DWARF cannot be read.
 *
 * The first call indexes every unit's top-level types (tens of ms for a
 * libpython); later calls are hash lookups plus a walk of the members. */
int objfile_dwarf_sizeof(struct objfile *of, const char *type, int64_t *size);
int objfile_dwarf_offsetof(struct objfile *of, const char *type,
			   const char *path, int64_t *off);
/* Offset as objfile_dwarf_offsetof(), and the byte size of what the path
 * names (the member's type after any indexing; for an empty path the type
 * itself).  *size is 0 when that has no size: a flexible array member
 * ("ob_item[]"), an incomplete struct.  size may be NULL. */
int objfile_dwarf_member(struct objfile *of, const char *type,
			 const char *path, int64_t *off, int64_t *size);

/*
 * Fake objfiles (test-only: unit tests and fuzzers)
 * --------------------------------------------------
 * The walkers find everything through an objfile: _PyRuntime, the static
 * type objects, pymalloc's statics, libc's main_arena and .rodata.  To run
 * pyproc_open() and census_build() on a fake target (target_fake_new()),
 * an objfile can be made from explicit symbols and sections instead of an
 * ELF file.  Such an objfile has no DWARF, no build-id and bias 0: the
 * addresses given are runtime addresses.  Nothing in pyheap itself makes
 * one; on a live process or an image objfile_open() never returns one.
 *
 *   objfile_fake_init(of, path)   an empty objfile named path (released
 *                                 with objfile_release())
 *   objfile_fake_sym()            a symbol (name copied), as if in .symtab
 *                                 (has_symtab is then true) or in .dynsym
 *   objfile_fake_section()        a section; data (copied) is what
 *                                 objfile_section_data() returns, NULL for
 *                                 a NOBITS section such as .bss
 *   objfile_fake_provide(t, of)   from now on objfile_open() of any mapping
 *                                 of fake target t whose path is of->path
 *                                 returns a copy of of (which the caller
 *                                 keeps and may release after
 *                                 objfile_fake_forget(t))
 *   objfile_fake_forget(t)        drop every objfile provided for t; call
 *                                 before target_close(t)
 *
 * The provided objfiles are kept in one process-wide table (test code is
 * single-threaded); ph_die() on misuse: a non-fake target, a full table.
 */
void objfile_fake_init(struct objfile *of, const char *path);
void objfile_fake_sym(struct objfile *of, const char *name, uint64_t addr,
		      uint64_t size, bool symtab);
void objfile_fake_section(struct objfile *of, const char *name,
			  uint64_t addr, uint64_t size, const void *data);
void objfile_fake_provide(const struct target *t, const struct objfile *of);
void objfile_fake_forget(const struct target *t);

/* Internal to symbols/: elf.c's objfile_release() calls this to free what
 * dwarf.c set up (the Dwarf handle and the type index). */
void objfile_dwarf_release(struct objfile *of);

#endif
