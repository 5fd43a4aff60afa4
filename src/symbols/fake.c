/*
 * Fake objfiles (symbols.h): explicit symbols and sections for tests and
 * fuzzers that run the whole pipeline on a fake target.
 */
#include <stdlib.h>
#include <string.h>

#include <elf.h>

#include "internal.h"

/* Objfiles provided for fake targets: two a target (the interpreter,
 * libc), and a fuzzer keeps a target for each of its variants. */
#define MAX_PROVIDED 64

static struct {
	const struct target *t;
	const struct objfile *of;
} provided[MAX_PROVIDED];
static size_t nprovided;

void objfile_fake_init(struct objfile *of, const char *path)
{
	memset(of, 0, sizeof(*of));
	of->fd = -1;
	of->debug_fd = -1;
	of->fake = true;
	of->path = xstrdup(path);
	of->open_path = xstrdup(path);
}

void objfile_fake_sym(struct objfile *of, const char *name, uint64_t addr,
		      uint64_t size, bool symtab)
{
	struct objfile_sym *s;
	size_t alloc = of->nsyms;

	if (!of->fake)
		ph_die("objfile_fake_sym on a real objfile");
	PH_GROW(of->syms, alloc, of->nsyms + 1);
	s = &of->syms[of->nsyms];
	s->name = xstrdup(name);
	s->value = addr;
	s->size = size;
	s->seq = (uint32_t)of->nsyms++;
	s->rank = symtab ? RANK_SYMTAB_GLOBAL : RANK_GLOBAL;
	if (symtab)
		of->has_symtab = true;
	/* objfile_sym() searches a sorted table; objfile_sym_at()'s index
	 * is rebuilt on its next call. */
	free(of->by_addr);
	of->by_addr = NULL;
	qsort(of->syms, of->nsyms, sizeof(*of->syms), objfile_sym_cmp);
}

void objfile_fake_section(struct objfile *of, const char *name,
			  uint64_t addr, uint64_t size, const void *data)
{
	struct objfile_section *s;
	size_t alloc = of->nsecs;

	if (!of->fake)
		ph_die("objfile_fake_section on a real objfile");
	PH_GROW(of->secs, alloc, of->nsecs + 1);
	s = &of->secs[of->nsecs++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->addr = addr;
	s->size = size;
	s->flags = addr ? SHF_ALLOC : 0;
	s->type = data ? SHT_PROGBITS : SHT_NOBITS;
	s->ndx = of->nsecs;
	if (data) {
		void *copy = xmalloc(size ? size : 1);

		memcpy(copy, data, size);
		s->data = copy;
	}
}

void objfile_fake_release(struct objfile *of)
{
	size_t i;

	for (i = 0; i < of->nsyms; i++)
		free((char *)of->syms[i].name);
	for (i = 0; i < of->nsecs; i++) {
		free((char *)of->secs[i].name);
		free((void *)of->secs[i].data);
	}
}

static void copy_fake(struct objfile *dst, const struct objfile *src)
{
	size_t i;

	objfile_fake_init(dst, src->path);
	dst->map_start = src->map_start;
	dst->map_end = src->map_end;
	dst->is_exec = src->is_exec;
	for (i = 0; i < src->nsecs; i++)
		objfile_fake_section(dst, src->secs[i].name, src->secs[i].addr,
				     src->secs[i].size, src->secs[i].data);
	if (src->nsyms) {
		dst->syms = xmalloc(src->nsyms * sizeof(*dst->syms));
		for (i = 0; i < src->nsyms; i++) {
			dst->syms[i] = src->syms[i];
			dst->syms[i].name = xstrdup(src->syms[i].name);
		}
		dst->nsyms = src->nsyms;
	}
	dst->has_symtab = src->has_symtab;
}

void objfile_fake_provide(const struct target *t, const struct objfile *of)
{
	if (!target_is_fake(t) || !of->fake)
		ph_die("objfile_fake_provide needs a fake target and objfile");
	if (nprovided == MAX_PROVIDED)
		ph_die("more than %d fake objfiles provided", MAX_PROVIDED);
	provided[nprovided].t = t;
	provided[nprovided].of = of;
	nprovided++;
}

void objfile_fake_forget(const struct target *t)
{
	size_t i = 0;

	while (i < nprovided) {
		if (provided[i].t == t)
			provided[i] = provided[--nprovided];
		else
			i++;
	}
}

bool objfile_fake_lookup(struct objfile *of, const struct target *t,
			 const struct map *m)
{
	size_t i;

	if (!m->path)
		return false;
	for (i = 0; i < nprovided; i++) {
		if (provided[i].t == t &&
		    !strcmp(provided[i].of->path, m->path)) {
			copy_fake(of, provided[i].of);
			return true;
		}
	}
	return false;
}
