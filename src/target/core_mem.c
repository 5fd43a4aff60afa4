/*
 * Reads of a core target (core.c, target.h "Cores"): the bytes the core
 * holds, and in a mapping of a file it does not hold, the file's own,
 * once core_check_files() found the file to be the one the process
 * mapped (the build-id in the first page the core holds of it).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "target.h"

/* ---- reads ------------------------------------------------------------- */

static int not_in_core(uint64_t addr, size_t len)
{
	return ph_error(PH_E_READ, "cannot read %zu bytes at %#" PRIx64
			": not in the core", len, addr);
}

/* The file behind file number n (map.inode), opened on first use; -1 if
 * it cannot be. */
static int file_fd(struct core *c, uint64_t n)
{
	struct core_file *f;
	struct stat st;
	char *p;

	if (!n || n > c->nfiles)
		return -1;
	f = &c->files[n - 1];
	if (f->tried)
		return f->fd;
	f->tried = true;
	p = xasprintf("%s%s", f->absolute ? "" : c->root, f->path);
	f->fd = ph_open_ro(p);
	if (f->fd >= 0 && (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(f->fd);
		f->fd = -1;
	}
	if (f->fd >= 0) {
		unsigned char magic[SELFMAG];

		f->size = (uint64_t)st.st_size;
		f->elf = pread(f->fd, magic, sizeof(magic), 0) ==
			 (ssize_t)sizeof(magic) &&
			 !memcmp(magic, ELFMAG, SELFMAG);
	} else {
		ph_debug(1, "core: cannot open %s", p);
	}
	free(p);
	return f->fd;
}

/* Bytes of the file mapped at m, for [addr, addr + n): what the core
 * does not hold of an unwritten mapping is the file's (past its end, the
 * page's zeros).  0 or -1. */
static int file_bytes(struct core *c, const struct map *m, uint64_t addr,
		      unsigned char *out, size_t n)
{
	int fd = file_fd(c, m->inode);
	uint64_t off = m->offset + (addr - m->start);
	size_t got = 0;

	/* Only an ELF object's: a live image copies no data file either
	 * (image.c worth_copying), so neither does a core read one. */
	if (fd < 0 || !c->files[m->inode - 1].elf)
		return -1;
	/* Bytes of a file the core held no header of: said (snap_core). */
	if (!c->files[m->inode - 1].checked &&
	    !c->files[m->inode - 1].counted) {
		c->files[m->inode - 1].counted = true;
		c->info.files_unchecked++;
		ph_debug(1, "core: %s read unchecked (at %#" PRIx64 ")",
			 c->files[m->inode - 1].path, addr);
	}
	if (off < c->files[m->inode - 1].size) {
		ssize_t r = pread(fd, out, (size_t)PH_MIN(
				  (uint64_t)n, c->files[m->inode - 1].size - off),
				  (off_t)off);

		if (r < 0)
			return -1;
		got = (size_t)r;
	}
	memset(out + got, 0, n - got);
	return 0;
}

static int core_read(struct target *t, uint64_t addr, void *buf, size_t len)
{
	struct core *c = t->priv;
	unsigned char *out = buf;
	size_t lo = 0, hi = c->nsegs;
	uint64_t end, want = addr;

	if (!ph_add(addr, len, &end))
		return not_in_core(addr, len);
	if (!len)
		return 0;
	while (lo < hi) { /* the first segment ending after addr */
		size_t mid = lo + (hi - lo) / 2;

		if (c->segs[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* A read may span segments and mappings that touch. */
	while (addr < end) {
		const struct core_seg *s = lo < c->nsegs ? &c->segs[lo] : NULL;
		const struct map *m;
		size_t n;

		if (s && s->start <= addr) {
			n = (size_t)(PH_MIN(end, s->end) - addr);
			memcpy(out, s->data + (addr - s->start), n);
			if (n == len) { /* one segment: the next read is near */
				t->hot = s->data;
				t->hot_start = s->start;
				t->hot_end = s->end;
			}
			lo++;
		} else {
			m = maps_find(&t->maps, addr);
			if (!m || !m->inode || !(m->perms & MAP_R))
				return not_in_core(want, len);
			n = (size_t)(PH_MIN(PH_MIN(end, m->end),
					    s ? s->start : end) - addr);
			if (file_bytes(c, m, addr, out, n))
				return not_in_core(want, len);
		}
		out += n;
		addr += n;
	}
	return 0;
}

static void core_close(struct target *t)
{
	struct core *c = t->priv;

	if (!c)
		return;
	if (c->map)
		munmap(c->map, c->len);
	for (size_t i = 0; i < c->nfiles; i++) {
		if (c->files[i].fd >= 0)
			close(c->files[i].fd);
		free(c->files[i].path);
	}
	free(c->files);
	free(c->root);
	free(c->segs);
	free(c);
	t->priv = NULL;
	t->hot = NULL;
	t->hot_start = t->hot_end = 0;
}

const struct target_ops core_target_ops = {
	.read = core_read,
	.close = core_close,
};

bool target_is_core(const struct target *t)
{
	return t && t->ops == &core_target_ops;
}

const struct target_core_info *target_core_info(const struct target *t)
{
	return target_is_core(t) ? &((const struct core *)t->priv)->info :
	       NULL;
}

/* ---- the files the core names ------------------------------------------ */

/* The bytes [addr, addr + n) if one segment of the core holds them. */
static const unsigned char *held(const struct core *c, uint64_t addr,
				 size_t n)
{
	size_t lo = 0, hi = c->nsegs;
	uint64_t end;

	if (!ph_add(addr, n, &end))
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->segs[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->nsegs && c->segs[lo].start <= addr &&
	    end <= c->segs[lo].end)
		return c->segs[lo].data + (addr - c->segs[lo].start);
	return NULL;
}

#define ID_MAX 64
#define HEADER_PAGE 4096

/*
 * The GNU build-id of an ELF object from its first page (the file's, or
 * the one the core holds): the ELF header, its program headers and a
 * PT_NOTE within the page (elf.h NT_GNU_BUILD_ID, name "GNU").  Its
 * length, 0 for none.
 */
static size_t page_build_id(const unsigned char *p, size_t n,
			    unsigned char id[ID_MAX])
{
	Elf64_Ehdr eh;
	size_t i;

	if (n < sizeof(eh))
		return 0;
	memcpy(&eh, p, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256 ||
	    eh.e_phoff > n || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) >
	    n - eh.e_phoff)
		return 0;
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		size_t off;

		memcpy(&ph, p + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE || ph.p_offset > n ||
		    ph.p_filesz > n - ph.p_offset)
			continue;
		for (off = 0; off + 12 <= ph.p_filesz;) {
			const unsigned char *d = p + ph.p_offset + off;
			uint32_t nsz = core_le32(d), dsz = core_le32(d + 4);
			size_t np = ((size_t)nsz + 3) & ~(size_t)3;
			size_t dp = ((size_t)dsz + 3) & ~(size_t)3;

			if (np > ph.p_filesz - off - 12 ||
			    dp > ph.p_filesz - off - 12 - np)
				break;
			if (core_le32(d + 8) == NT_GNU_BUILD_ID && nsz == 4 &&
			    !memcmp(d + 12, "GNU", 4) && dsz && dsz <= ID_MAX) {
				memcpy(id, d + 12 + np, dsz);
				return dsz;
			}
			off += 12 + np + dp;
		}
	}
	return 0;
}

static void hex(const unsigned char *id, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
	out[2 * n] = '\0';
}

/*
 * Each file whose first page the core holds must be the file the process
 * mapped: the same build-id (or, for an ELF object without one, the same
 * first page).  A mismatch is an error: every read through the file would
 * be of another program.
 */
int core_check_files(const char *path, struct target *t, struct core *c)
{
	const struct map **first = xcalloc(c->nfiles + 1, sizeof(*first));
	size_t i, k;
	int rc = 0;

	/* Each file's mapping of offset 0, in one pass over the maps. */
	for (k = 0; k < t->maps.n; k++) {
		const struct map *m = &t->maps.v[k];

		if (m->inode && m->inode <= c->nfiles && m->offset == 0 &&
		    !first[m->inode - 1])
			first[m->inode - 1] = m;
	}
	for (i = 0; i < c->nfiles; i++) {
		const struct map *m = first[i];
		const unsigned char *mem;
		unsigned char page[HEADER_PAGE], a[ID_MAX], b[ID_MAX];
		char ha[2 * ID_MAX + 1], hb[2 * ID_MAX + 1];
		size_t na, nb, got = 0;
		ssize_t r;
		int fd;

		if (!m)
			continue;
		mem = held(c, m->start, HEADER_PAGE);
		if (!mem || memcmp(mem, ELFMAG, SELFMAG))
			continue; /* not an ELF object, or not in the core */
		fd = file_fd(c, i + 1);
		if (fd < 0) {
			c->info.files_missing++;
			continue;
		}
		while (got < sizeof(page) &&
		       (r = pread(fd, page + got, sizeof(page) - got,
				  (off_t)got)) > 0)
			got += (size_t)r;
		na = page_build_id(mem, HEADER_PAGE, a);
		nb = page_build_id(page, got, b);
		if (na != nb || memcmp(a, b, na) ||
		    (!na && (got < HEADER_PAGE ||
			     memcmp(mem, page, HEADER_PAGE)))) {
			hex(a, na, ha);
			hex(b, nb, hb);
			rc = ph_error(PH_E_ELF, "%s: %s%s is not the file the "
				      "process mapped (build-id %s in the "
				      "core, %s in the file): give the "
				      "process's files with --sysroot or "
				      "--exe", path,
				      c->files[i].absolute ? "" : c->root,
				      c->files[i].path, na ? ha : "none",
				      nb ? hb : "none");
			break;
		}
		c->files[i].checked = true;
		c->info.files_checked++;
	}
	free(first);
	return rc;
}
