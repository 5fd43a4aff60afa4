#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <gelf.h>
#include <libelf.h>
#include <elfutils/libdwelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "symbols.h"

#include "internal.h"

static int elf_init(void)
{
	static bool done;

	if (done)
		return 0;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return ph_error(PH_E_ELF, "libelf is out of date: %s",
				elf_errmsg(-1));
	done = true;
	return 0;
}

static void objfile_init(struct objfile *of)
{
	memset(of, 0, sizeof(*of));
	of->fd = -1;
	of->debug_fd = -1;
}

void objfile_release(struct objfile *of)
{
	if (of->fake)
		objfile_fake_release(of);
	/* DWARF first: libdw reads through the Elf handles below. */
	objfile_dwarf_release(of);
	if (of->debug_elf)
		elf_end(of->debug_elf);
	if (of->elf)
		elf_end(of->elf);
	if (of->debug_fd >= 0)
		close(of->debug_fd);
	if (of->fd >= 0)
		close(of->fd);
	free(of->path);
	free(of->open_path);
	free(of->debug_path);
	free(of->root);
	free(of->syms);
	free(of->by_addr);
	free(of->secs);
	objfile_init(of);
}

static Elf *elf_open_fd(int fd, const char *path)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;

	if (!elf) {
		ph_error(PH_E_ELF, "cannot read ELF file %s: %s", path,
			 elf_errmsg(-1));
		return NULL;
	}
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		ph_error(PH_E_ELF, "%s is not an ELF file", path);
		elf_end(elf);
		return NULL;
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		ph_error(PH_E_ELF, "%s is not an executable or shared object",
			 path);
		elf_end(elf);
		return NULL;
	}
	return elf;
}

static int load_sections(struct objfile *of)
{
	Elf *elf = of->elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx, alloc = 0;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return ph_error(PH_E_ELF, "%s: no section name table: %s",
				of->path, elf_errmsg(-1));
	while ((scn = elf_nextscn(elf, scn))) {
		struct objfile_section *s;
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			return ph_error(PH_E_ELF, "%s: bad section header: %s",
					of->path, elf_errmsg(-1));
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		PH_GROW(of->secs, alloc, of->nsecs + 1);
		s = &of->secs[of->nsecs++];
		memset(s, 0, sizeof(*s));
		s->name = name;
		s->addr = sh.sh_addr;
		s->size = sh.sh_size;
		s->flags = sh.sh_flags;
		s->type = sh.sh_type;
		s->ndx = elf_ndxscn(scn);
	}
	return 0;
}

/* The symbols of elf's tables of `type`; returns how many such tables
 * could not be read (their header points outside the file, say). */
static int load_syms(struct objfile *of, Elf *elf, Elf64_Word type,
		     size_t *alloc)
{
	Elf_Scn *scn = NULL;
	int bad = 0;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, n, symsz;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type)
			continue;
		data = elf_getdata(scn, NULL);
		symsz = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
		if (!data || !data->d_buf || !symsz) {
			bad += sh.sh_size > 0;
			continue;
		}
		n = data->d_size / symsz;
		/* Entry 0 is the reserved null symbol. */
		for (i = 1; i < n; i++) {
			struct objfile_sym *s;
			const char *name;
			GElf_Sym sym;
			int st, bind;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			st = GELF_ST_TYPE(sym.st_info);
			bind = GELF_ST_BIND(sym.st_info);
			if (st != STT_OBJECT && st != STT_FUNC)
				continue;
			/* Undefined symbols are imports; absolute ones are not
			 * addresses in this file. */
			if (sym.st_shndx == SHN_UNDEF ||
			    sym.st_shndx == SHN_ABS)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			PH_GROW(of->syms, *alloc, of->nsyms + 1);
			s = &of->syms[of->nsyms];
			s->name = name;
			s->value = sym.st_value;
			s->size = sym.st_size;
			s->seq = (uint32_t)of->nsyms++;
			s->func = st == STT_FUNC;
			if (bind == STB_LOCAL)
				s->rank = RANK_LOCAL;
			else if (type == SHT_SYMTAB && bind == STB_GLOBAL)
				s->rank = RANK_SYMTAB_GLOBAL;
			else
				s->rank = RANK_GLOBAL;
		}
	}
	return bad;
}

int objfile_sym_cmp(const void *a, const void *b)
{
	const struct objfile_sym *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Compare sym against `name` followed by a '.', so that every
 * "name.lto_priv.0"-style variant compares equal. */
static int sym_prefix_cmp(const char *sym, const char *name, size_t len)
{
	int r = strncmp(sym, name, len);

	if (r)
		return r;
	return (int)(unsigned char)sym[len] - '.';
}

/* First index whose entry is not below the probe. */
static size_t sym_lower_bound(const struct objfile *of, const char *name,
			      size_t len, bool prefix)
{
	size_t lo = 0, hi = of->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *s = of->syms[mid].name;
		int r = prefix ? sym_prefix_cmp(s, name, len) : strcmp(s, name);

		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int objfile_sym(const struct objfile *of, const char *name, uint64_t *addr,
		uint64_t *size)
{
	size_t len = strlen(name), i, end;
	const struct objfile_sym *best = NULL;
	bool prefix = false;

	i = sym_lower_bound(of, name, len, false);
	if (i < of->nsyms && !strcmp(of->syms[i].name, name)) {
		/* Sorted by rank within a name: the first is preferred. */
		best = &of->syms[i];
		for (end = i; end < of->nsyms &&
		     !strcmp(of->syms[end].name, name); end++)
			;
	} else {
		prefix = true;
		i = sym_lower_bound(of, name, len, true);
		for (end = i; end < of->nsyms &&
		     !sym_prefix_cmp(of->syms[end].name, name, len); end++)
			if (!best || of->syms[end].rank < best->rank)
				best = &of->syms[end];
	}
	if (!best)
		return ph_error(PH_E_NOTFOUND, "no symbol %s in %s", name,
				of->path);
	/* Two different statics can share a name (in different source files);
	 * say so, since the answer may then be the wrong one. */
	for (; i < end; i++)
		if (of->syms[i].value != best->value) {
			ph_debug(2, "symbol %s is ambiguous in %s (%s, %s); "
				 "using %s", name, of->path, best->name,
				 of->syms[i].name, best->name);
			break;
		}
	if (prefix)
		ph_debug(3, "symbol %s found as %s in %s", name, best->name,
			 of->path);
	if (addr)
		*addr = best->value + of->bias;
	if (size)
		*size = best->size;
	return 0;
}

static const struct objfile_section *find_section(const struct objfile *of,
						  const char *name)
{
	size_t i;

	for (i = 0; i < of->nsecs; i++)
		if (!strcmp(of->secs[i].name, name))
			return &of->secs[i];
	return NULL;
}

int objfile_section(const struct objfile *of, const char *name,
		    uint64_t *addr, uint64_t *size)
{
	const struct objfile_section *s = find_section(of, name);

	/* Only allocated sections have an address in the process. */
	if (!s || !(s->flags & SHF_ALLOC))
		return ph_error(PH_E_NOTFOUND, "no section %s in %s", name,
				of->path);
	*addr = s->addr + of->bias;
	if (size)
		*size = s->size;
	return 0;
}

int objfile_section_data(const struct objfile *of, const char *name,
			 const void **data, uint64_t *size)
{
	const struct objfile_section *s = find_section(of, name);
	Elf_Scn *scn;
	Elf_Data *d;

	if (!s || s->type == SHT_NOBITS)
		return ph_error(PH_E_NOTFOUND, "no file data for section %s "
				"in %s", name, of->path);
	if (s->data) {
		*data = s->data;
		if (size)
			*size = s->size;
		return 0;
	}
	if (s->flags & SHF_COMPRESSED)
		return ph_error(PH_E_ELF, "section %s of %s is compressed",
				name, of->path);
	scn = elf_getscn(of->elf, s->ndx);
	d = scn ? elf_getdata(scn, NULL) : NULL;
	if (!d || (!d->d_buf && d->d_size))
		return ph_error(PH_E_ELF, "cannot read section %s of %s: %s",
				name, of->path, elf_errmsg(-1));
	*data = d->d_buf;
	if (size)
		*size = d->d_size;
	return 0;
}

static int objfile_load(struct objfile *of, const char *root, const char *dir)
{
	GElf_Ehdr eh;
	size_t alloc = 0;
	bool main_symtab;
	int rc, bad;

	free(of->root);
	of->root = xstrdup(root ? root : "");
	of->elf = elf_open_fd(of->fd, of->open_path);
	if (!of->elf)
		return -PH_E_ELF;
	gelf_getehdr(of->elf, &eh);
	of->is_exec = eh.e_type == ET_EXEC;
	rc = load_sections(of);
	if (rc < 0)
		return rc;
	debug_build_id(of->elf, of->build_id);
	main_symtab = debug_has_symtab(of->elf);
	if (debug_has_info(of->elf))
		of->dwarf_elf = of->elf;
	else if (!getenv("PYHEAP_NO_DEBUG_FILES"))
		debug_find_file(of, root, dir);
	if (!of->dwarf_elf && of->debug_elf && debug_has_info(of->debug_elf))
		of->dwarf_elf = of->debug_elf;
	of->has_dwarf = of->dwarf_elf != NULL;
	of->has_symtab = main_symtab ||
			 (of->debug_elf && debug_has_symtab(of->debug_elf));

	bad = load_syms(of, of->elf, SHT_SYMTAB, &alloc);
	/* A debug file made by objcopy --only-keep-debug holds the .symtab the
	 * stripped file lost, at the same addresses. */
	if (!main_symtab && of->debug_elf)
		bad += load_syms(of, of->debug_elf, SHT_SYMTAB, &alloc);
	bad += load_syms(of, of->elf, SHT_DYNSYM, &alloc);
	/* A file whose symbol tables cannot be read is damaged, which is
	 * not the same as a file of another program. */
	if (!of->nsyms && bad)
		return ph_error(PH_E_ELF, "%s: its symbol table cannot be "
				"read (the section headers point outside the "
				"file): the file is damaged", of->path);
	if (of->nsyms)
		qsort(of->syms, of->nsyms, sizeof(*of->syms),
		      objfile_sym_cmp);
	ph_debug(2, "%s: %zu symbols, %zu sections, build-id %s%s%s",
		 of->path, of->nsyms, of->nsecs,
		 *of->build_id ? of->build_id : "none",
		 of->has_dwarf ? ", DWARF" : "",
		 of->has_symtab ? ", symtab" : "");
	return 0;
}

int objfile_open_path(struct objfile *of, const char *path)
{
	char *real, *dir;
	int rc;

	objfile_init(of);
	rc = elf_init();
	if (rc < 0)
		return rc;
	of->path = xstrdup(path);
	of->open_path = xstrdup(path);
	of->fd = ph_open_ro(path);
	if (of->fd < 0) {
		rc = ph_error(PH_E_ELF, "cannot open %s: %s", path,
			      strerror(errno));
		goto fail;
	}
	/* The debuglink sits next to the real file, not next to a symlink
	 * such as /usr/bin/python3. */
	real = realpath(path, NULL);
	dir = ph_dirname(real ? real : path);
	free(real);
	rc = objfile_load(of, "", dir);
	free(dir);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	objfile_release(of);
	return rc;
}

static bool same_file(const struct map *a, const struct map *b)
{
	return a->path && a->inode && a->inode == b->inode &&
	       a->dev_major == b->dev_major && a->dev_minor == b->dev_minor;
}

/* Find the instance of the file that m belongs to (a file can be mapped
 * more than once, e.g. dlmopen): its offset-0 mapping is the last one at or
 * below m, and it extends up to the next offset-0 mapping of the same file.
 * Returns the offset-0 mapping, or NULL if there is none. */
static const struct map *file_extent(const struct target *t,
				     const struct map *m, uint64_t *lo,
				     uint64_t *hi)
{
	const struct maps *ms = &t->maps;
	const struct map *base = NULL;
	uint64_t limit = UINT64_MAX;
	size_t i;

	for (i = 0; i < ms->n; i++) {
		const struct map *x = &ms->v[i];

		if (!same_file(x, m) || x->offset)
			continue;
		if (x->start <= m->start)
			base = x;
		else if (x->start < limit)
			limit = x->start;
	}
	*lo = base ? base->start : m->start;
	*hi = m->end;
	for (i = 0; i < ms->n; i++) {
		const struct map *x = &ms->v[i];

		if (!same_file(x, m) || x->start < *lo || x->start >= limit)
			continue;
		*lo = PH_MIN(*lo, x->start);
		*hi = PH_MAX(*hi, x->end);
	}
	return base;
}

static int compute_bias(struct objfile *of, const struct map *ref)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t i, n;
	bool first = true;

	if (elf_getphdrnum(of->elf, &n) < 0)
		return ph_error(PH_E_ELF, "%s: no program headers: %s",
				of->path, elf_errmsg(-1));
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(of->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		/* The loader maps each PT_LOAD from its page-aligned file
		 * offset to its page-aligned vaddr + bias; the mapping at
		 * offset 0 is the first PT_LOAD even when that segment's own
		 * p_offset is not page 0. */
		if ((ph.p_offset & ~(page - 1)) == ref->offset ||
		    (first && ref->offset == 0)) {
			of->bias = ref->start - (ph.p_vaddr & ~(page - 1));
			return 0;
		}
		first = false;
	}
	return ph_error(PH_E_ELF, "%s: no load segment matches the mapping "
			"at %#" PRIx64, of->path, ref->start);
}

/* Open the file behind m: through the target's root, else through
 * map_files (which also reaches deleted files).  The inode must be the
 * mapped one, or we would read symbols of a file replaced since. */
static int open_mapped(struct objfile *of, const struct target *t,
		       const struct map *m)
{
	char *cand[2] = { NULL, NULL };
	const char *why = "no way to open it";
	int i;

	if (m->open_path)
		cand[0] = xstrdup(m->open_path);
	else if (!m->deleted)
		cand[0] = xasprintf("%s%s", t->root ? t->root : "", m->path);
	if (t->pid > 0)
		cand[1] = xasprintf("/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
				    (int)t->pid, m->start, m->end);
	for (i = 0; i < 2 && of->fd < 0; i++) {
		struct stat st;
		int fd;

		if (!cand[i])
			continue;
		fd = ph_open_ro(cand[i]);
		if (fd < 0) {
			why = strerror(errno);
			ph_debug(2, "cannot open %s: %s", cand[i], why);
			continue;
		}
		/* A core's backend checked its files by build-id: it has
		 * no inodes to compare. */
		if (fstat(fd, &st) < 0 ||
		    (!t->inodes_unknown && (uint64_t)st.st_ino != m->inode)) {
			why = "the file was replaced since it was mapped";
			ph_debug(2, "%s: inode %lu, mapped inode %" PRIu64,
				 cand[i], (unsigned long)st.st_ino, m->inode);
			close(fd);
			continue;
		}
		/* Overlay filesystems report another device in maps than
		 * stat does, so a mismatch here is not proof of anything. */
		if (!t->inodes_unknown &&
		    (major(st.st_dev) != m->dev_major ||
		     minor(st.st_dev) != m->dev_minor))
			ph_debug(2, "%s: device %u:%u, mapped device %u:%u",
				 cand[i], major(st.st_dev), minor(st.st_dev),
				 m->dev_major, m->dev_minor);
		of->fd = fd;
		of->open_path = cand[i];
		cand[i] = NULL;
	}
	free(cand[0]);
	free(cand[1]);
	if (of->fd < 0)
		return ph_error(PH_E_ELF, "cannot open %s mapped by process "
				"%d: %s", m->path, (int)t->pid, why);
	return 0;
}

int objfile_open(struct objfile *of, const struct target *t,
		 const struct map *m)
{
	const struct map *base;
	char *dir;
	int rc;

	objfile_init(of);
	if (objfile_fake_lookup(of, t, m))
		return 0;
	rc = elf_init();
	if (rc < 0)
		return rc;
	if (!m->path || !m->inode || m->path[0] != '/')
		return ph_error(PH_E_ELF, "mapping at %#" PRIx64 " is not a "
				"file", m->start);
	of->path = xstrdup(m->path);
	base = file_extent(t, m, &of->map_start, &of->map_end);
	rc = open_mapped(of, t, m);
	if (rc < 0)
		goto fail;
	dir = ph_dirname(m->path);
	rc = objfile_load(of, t->root, dir);
	free(dir);
	if (rc < 0)
		goto fail;
	rc = compute_bias(of, base ? base : m);
	if (rc < 0)
		goto fail;
	if (of->is_exec && of->bias)
		ph_debug(1, "%s: non-PIE executable loaded with bias %#" PRIx64,
			 of->path, of->bias);
	return 0;
fail:
	objfile_release(of);
	return rc;
}

/* ---- symbols by address ------------------------------------------------ */

static const struct objfile *by_addr_of; /* qsort has no context argument */

static int by_addr_cmp(const void *a, const void *b)
{
	const struct objfile_sym *x = &by_addr_of->syms[*(const uint32_t *)a];
	const struct objfile_sym *y = &by_addr_of->syms[*(const uint32_t *)b];

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The symbol whose [value, value + size) holds a runtime address: for
 * naming what a word of native memory points at (objects/leaks_sig.c).
 * The index is built on the first call (one sort, O(symbols log
 * symbols)); among symbols at one address the preferred rank wins.
 */
int objfile_sym_at(struct objfile *of, uint64_t addr, const char **name,
		   uint64_t *start, bool *func)
{
	size_t lo = 0, hi, i;
	const struct objfile_sym *s;
	uint64_t v;

	if (!of->by_addr && of->nsyms) {
		of->by_addr = xmalloc(of->nsyms * sizeof(*of->by_addr));
		for (i = 0; i < of->nsyms; i++)
			of->by_addr[i] = (uint32_t)i;
		by_addr_of = of;
		qsort(of->by_addr, of->nsyms, sizeof(*of->by_addr),
		      by_addr_cmp);
		by_addr_of = NULL;
	}
	if (!of->nsyms || addr < of->bias)
		return -PH_E_NOTFOUND;
	v = addr - of->bias;
	hi = of->nsyms;
	while (lo < hi) { /* first symbol above v */
		size_t mid = lo + (hi - lo) / 2;

		if (of->syms[of->by_addr[mid]].value <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -PH_E_NOTFOUND;
	/* The first of the run of symbols at that value: the preferred. */
	i = lo - 1;
	while (i && of->syms[of->by_addr[i - 1]].value ==
		    of->syms[of->by_addr[i]].value)
		i--;
	s = &of->syms[of->by_addr[i]];
	/* A size-0 symbol (hand-written assembly) covers nothing. */
	if (v - s->value >= s->size)
		return -PH_E_NOTFOUND;
	if (name)
		*name = s->name;
	if (start)
		*start = s->value + of->bias;
	if (func)
		*func = s->func;
	return 0;
}
