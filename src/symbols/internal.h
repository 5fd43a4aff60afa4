/*
 * Private to symbols/: the symbol and section tables of struct objfile,
 * shared by elf.c (real ELF files) and fake.c (test-only objfiles with
 * explicit symbols and sections, symbols.h "Fake objfiles").
 */
#ifndef PYHEAP_SYMBOLS_INTERNAL_H
#define PYHEAP_SYMBOLS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <libelf.h>

#include "symbols.h"

struct objfile_sym {
	const char *name; /* into libelf's string table; owned if fake */
	uint64_t value;   /* link-time st_value; add bias for runtime */
	uint64_t size;
	uint32_t seq;     /* load order, so sorting is stable */
	uint8_t rank;     /* lower is preferred among equal names */
	uint8_t func;     /* STT_FUNC (else STT_OBJECT) */
};

struct objfile_section {
	const char *name; /* into libelf's string table; owned if fake */
	uint64_t addr, size; /* link-time sh_addr */
	uint64_t flags;
	uint32_t type;
	size_t ndx;
	const void *data; /* fake objfiles: the file contents, or NULL */
};

/* Symbol preference among equal names: the full symbol table's global
 * definition is the real one; the dynamic table repeats it, and locals of
 * the same name belong to some other file. */
enum {
	RANK_SYMTAB_GLOBAL,
	RANK_GLOBAL,
	RANK_LOCAL,
};

/* elf.c: sort order of of->syms (name, then rank, then load order). */
int objfile_sym_cmp(const void *a, const void *b);

/* debugfile.c: whether elf holds DWARF (.debug_info with contents, or
 * .zdebug_info) and a full symbol table; its GNU build-id in hex ("" for
 * none or one longer than SHA-1's); and the search for of's separate
 * debug file, under root then on the host, dir being the file's directory
 * as the target sees it (sets of->debug_fd, debug_elf, debug_path). */
bool debug_has_info(Elf *elf);
bool debug_has_symtab(Elf *elf);
void debug_build_id(Elf *elf, char out[41]);
void debug_find_file(struct objfile *of, const char *root, const char *dir);

/* fake.c */
void objfile_fake_release(struct objfile *of);
/* If t is a fake target and an objfile was provided for m's path
 * (objfile_fake_provide), fill *of with a copy and return true. */
bool objfile_fake_lookup(struct objfile *of, const struct target *t,
			 const struct map *m);

#endif
