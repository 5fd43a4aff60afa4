/*
 * The core backend: an ELF core file (gcore, the kernel's own dump,
 * `coredumpctl dump -o FILE`) read as the memory of the process it
 * records (target.h "Cores").
 *
 * An x86_64 core (include/uapi/linux/elf.h, the kernel's
 * fs/binfmt_elf.c elf_core_dump, gdb's gcore) is an ET_CORE ELF file:
 *
 *   PT_NOTE   NT_PRSTATUS per thread (struct elf_prstatus: pr_pid, then
 *             pr_reg, x86_64's user_regs_struct), NT_PRPSINFO (struct
 *             elf_prpsinfo: pr_pid, pr_fname, pr_psargs), NT_AUXV (the
 *             auxiliary vector: AT_ENTRY), NT_FILE (the file-backed
 *             mappings: count, page size, then count {start, end,
 *             file offset in pages} and count NUL-terminated paths);
 *   PT_LOAD   one per mapping of the process, p_vaddr, p_memsz and its
 *             permissions in p_flags; p_filesz bytes of it at p_offset
 *             (0 for what coredump_filter left out, or the first page
 *             of an ELF file when the filter dumps only ELF headers).
 *
 * Every length, count and offset is checked against the file: a core is
 * whatever its writer (or someone else) made it.  The mappings are the
 * PT_LOAD segments, named from NT_FILE; reads succeed only in the bytes
 * the core holds, and, in a mapping of a file the core does not hold
 * (the kernel dumps a file's pages only once they were written: text and
 * read-only data stay in the file), in the file itself, opened under the
 * sysroot; elsewhere they fail, as an image's do outside what it copied.
 * Only ELF objects are read so (a live image copies no data file), and a
 * file is used only if it is the one the process mapped: where the core
 * holds its first page (coredump_filter's default dumps ELF headers), the
 * build-id in it (or, without one, the page itself) must be the file's;
 * where the core does not, the file's bytes are used unchecked, and
 * target_core_info() counts such files as they are read.  The kernel's
 * names [heap] and [stack] are not in a core: the anonymous mapping that
 * starts first after the executable's own (brk memory, within 1 GiB of
 * it) is named [heap], and the one holding the
 * first thread's stack pointer [stack].  Files carry no inode either:
 * each path gets a number of its own in place of one (file i: i + 1),
 * and target->inodes_unknown tells symbols/ not to compare inodes (the
 * core backend checked the files).  This file parses and opens; reads
 * and the files' checks are core_mem.c's.
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

#include "base/hashmap.h"
#include "internal.h"
#include "target.h"

/* Bounds on what a core may claim: mappings (a process's vm.max_map_count
 * is 65530 by default), files in NT_FILE, threads. */
#define CORE_MAX_SEGMENTS (1u << 20)
#define CORE_MAX_FILES (1u << 20)
#define CORE_MAX_THREADS (1u << 16)
/* x86_64 (arch/x86/include/asm/elf.h, struct elf_prstatus of
 * include/linux/elfcore.h): pr_pid at 32, pr_reg (27 words) at 112. */
#define PRSTATUS_PID 32
#define PRSTATUS_REG 112
#define PRSTATUS_SIZE 336
/* struct elf_prpsinfo: pr_pid at 24, pr_fname[16] at 40, pr_psargs[80]
 * at 56. */
#define PRPSINFO_PID 24
#define PRPSINFO_PSARGS 56
#define PRPSINFO_SIZE 136
/* user_regs_struct (sys/user.h): rsp is word 19, fs_base word 21. */
#define REG_SP 19
#define REG_FS_BASE 21
/* The kernel randomises the start of brk within 1 GiB past the end of
 * the executable (32 MiB for 32-bit processes: arch/x86/kernel/process.c
 * arch_randomize_brk). */
#define BRK_RANDOM (1ull << 30)
#define NT_FILE_TYPE 0x46494c45 /* "FILE" */



static int corrupt(const char *path, const char *what)
{
	return ph_error(PH_E_FORMAT, "%s: not a usable core file: %s", path,
			what);
}

/* ---- parsing ----------------------------------------------------------- */

struct nt_file {
	uint64_t start, end, pgoff;
	const char *path;
};

struct parse {
	const char *path;
	struct core *c;
	struct target *t;
	struct nt_file *files;
	size_t nfiles;
	uint64_t entry;             /* AT_ENTRY, 0 if not known */
	uint64_t vdso;              /* AT_SYSINFO_EHDR, 0 if not known */
	bool have_psinfo;
	/* path -> file number - 1 (core.files): a core may name a million
	 * files, so no search by comparison. */
	struct strmap paths;
	struct u64map file_at;      /* start -> index in files, the first */
};

static uint64_t le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void add_thread(struct parse *x, const unsigned char *d, size_t n)
{
	struct target *t = x->t;
	struct target_thread *th;
	size_t i;

	if (n < PRSTATUS_SIZE || t->nthreads >= CORE_MAX_THREADS)
		return;
	PH_GROW(t->threads, t->threads_alloc, t->nthreads + 1);
	th = &t->threads[t->nthreads++];
	memset(th, 0, sizeof(*th));
	th->tid = (pid_t)core_le32(d + PRSTATUS_PID);
	for (i = 0; i < TARGET_NREGS; i++)
		th->regs[i] = le64(d + PRSTATUS_REG + 8 * i);
	th->sp = th->regs[REG_SP];
	th->fs_base = th->regs[REG_FS_BASE];
	th->has_regs = true;
}

/* NT_FILE: count, page size, count triples, count paths. */
static int parse_files(struct parse *x, const unsigned char *d, size_t n)
{
	uint64_t count, page, i;
	const char *name, *end = (const char *)d + n;

	if (n < 16)
		return corrupt(x->path, "a short NT_FILE note");
	count = le64(d);
	page = le64(d + 8);
	if (count > CORE_MAX_FILES || count * 24 > n - 16 || !page ||
	    (page & (page - 1)))
		return corrupt(x->path, "a bad NT_FILE note");
	free(x->files);
	x->files = xcalloc(count + 1, sizeof(*x->files));
	name = (const char *)d + 16 + count * 24;
	for (i = 0; i < count; i++) {
		const unsigned char *e = d + 16 + i * 24;
		const char *nul = memchr(name, '\0', (size_t)(end - name));

		if (!nul)
			return corrupt(x->path, "NT_FILE paths cut short");
		x->files[i].start = le64(e);
		x->files[i].end = le64(e + 8);
		if (le64(e + 16) > UINT64_MAX / page)
			return corrupt(x->path, "a bad NT_FILE offset");
		x->files[i].pgoff = le64(e + 16) * page;
		x->files[i].path = name;
		name = nul + 1;
	}
	x->nfiles = (size_t)count;
	return 0;
}

static void parse_auxv(struct parse *x, const unsigned char *d, size_t n)
{
	size_t i;

	for (i = 0; i + 16 <= n; i += 16) {
		if (le64(d + i) == AT_NULL)
			break;
		if (le64(d + i) == AT_ENTRY)
			x->entry = le64(d + i + 8);
		if (le64(d + i) == AT_SYSINFO_EHDR)
			x->vdso = le64(d + i + 8);
	}
}

static void parse_psinfo(struct parse *x, const unsigned char *d, size_t n)
{
	char args[81];

	if (n < PRPSINFO_SIZE)
		return;
	x->t->pid = (pid_t)core_le32(d + PRPSINFO_PID);
	memcpy(args, d + PRPSINFO_PSARGS, 80);
	args[80] = '\0';
	free(x->t->cmdline);
	x->t->cmdline = xstrdup(args);
	x->have_psinfo = true;
}

/* The notes of one PT_NOTE segment: {namesz, descsz, type, name, desc},
 * name and desc each padded to 4 bytes. */
static int parse_notes(struct parse *x, const unsigned char *d, size_t n)
{
	size_t off = 0;
	int rc;

	while (off + 12 <= n) {
		uint32_t namesz = core_le32(d + off);
		uint32_t descsz = core_le32(d + off + 4);
		uint32_t type = core_le32(d + off + 8);
		size_t name_pad = ((size_t)namesz + 3) & ~(size_t)3;
		size_t desc_pad = ((size_t)descsz + 3) & ~(size_t)3;
		const unsigned char *desc;

		off += 12;
		if (name_pad > n - off || desc_pad > n - off - name_pad ||
		    descsz > desc_pad)
			return corrupt(x->path, "a note runs past its segment");
		desc = d + off + name_pad;
		off += name_pad + desc_pad;
		/* Only the kernel's notes ("CORE"; NT_FILE as "CORE"
		 * too): gdb adds others under other names. */
		if (namesz != 5 || memcmp(d + off - desc_pad - name_pad,
					  "CORE", 5))
			continue;
		switch (type) {
		case NT_PRSTATUS:
			add_thread(x, desc, descsz);
			break;
		case NT_PRPSINFO:
			parse_psinfo(x, desc, descsz);
			break;
		case NT_AUXV:
			parse_auxv(x, desc, descsz);
			break;
		case NT_FILE_TYPE:
			rc = parse_files(x, desc, descsz);
			if (rc)
				return rc;
			break;
		}
	}
	return 0;
}

/* A number standing for a file's inode: the same for one path. */
static uint64_t path_number(struct parse *x, const char *path)
{
	uint32_t v;

	return strmap_get(&x->paths, path, strlen(path), &v) ? v + 1u : 0;
}

static int cmp_map(const void *a, const void *b)
{
	const struct map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct core_seg *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* One PT_LOAD: a mapping, and the bytes of it the core holds. */
static int add_load(struct parse *x, const Elf64_Phdr *ph)
{
	struct core *c = x->c;
	struct maps *ms = &x->t->maps;
	struct map *m;
	uint64_t end, have;
	uint64_t fi;

	if (!ph->p_memsz)
		return 0;
	if (!ph_add(ph->p_vaddr, ph->p_memsz, &end) ||
	    ph->p_filesz > ph->p_memsz)
		return corrupt(x->path, "a segment out of the address space");
	if (ms->n >= CORE_MAX_SEGMENTS)
		return corrupt(x->path, "too many segments");
	PH_GROW(ms->v, ms->alloc, ms->n + 1);
	m = &ms->v[ms->n++];
	memset(m, 0, sizeof(*m));
	m->start = ph->p_vaddr;
	m->end = end;
	m->perms = MAP_P | (ph->p_flags & PF_R ? MAP_R : 0) |
		   (ph->p_flags & PF_W ? MAP_W : 0) |
		   (ph->p_flags & PF_X ? MAP_X : 0);
	if (u64map_get(&x->file_at, m->start, &fi)) {
		m->path = xstrdup(x->files[fi].path);
		m->offset = x->files[fi].pgoff;
		m->inode = path_number(x, m->path);
	}
	/* What the core holds of it: a truncated core holds less. */
	have = ph->p_filesz;
	if (ph->p_offset > c->len)
		have = 0;
	else if (have > c->len - ph->p_offset)
		have = c->len - ph->p_offset;
	/* What a cut core lost of a file's mapping may have been written:
	 * never read the file in its place. */
	if (have < ph->p_filesz) {
		c->info.truncated_bytes += ph->p_filesz - have;
		m->inode = 0;
	}
	m->copied = have > 0;
	c->info.held_bytes += have;
	if (!have)
		return 0;
	PH_GROW(c->segs, c->segs_alloc, c->nsegs + 1);
	c->segs[c->nsegs].start = ph->p_vaddr;
	c->segs[c->nsegs].end = ph->p_vaddr + have;
	c->segs[c->nsegs].data = c->map + ph->p_offset;
	c->nsegs++;
	return 0;
}

/* Distinct paths of NT_FILE, numbered from 1 (map.inode). */
static void number_files(struct parse *x)
{
	struct core *c = x->c;
	size_t i;

	c->files = xcalloc(x->nfiles + 1, sizeof(*c->files));
	for (i = 0; i < x->nfiles; i++) {
		const char *p = x->files[i].path;
		size_t k = c->nfiles;

		if (!u64map_get(&x->file_at, x->files[i].start, NULL))
			u64map_put(&x->file_at, x->files[i].start, i);
		if (path_number(x, p))
			continue;
		c->files[k].path = xstrdup(p);
		c->files[k].fd = -1;
		c->nfiles++;
		/* The key stays valid: it is the copy in c->files. */
		strmap_put(&x->paths, c->files[k].path, strlen(p),
			   (uint32_t)k);
	}
}

/* ---- names the kernel gives and a core does not ------------------------ */

/* The end of the executable's image (bss included): its program headers'
 * highest p_vaddr + p_memsz, relocated.  0 if not known. */
static uint64_t exe_image_end(struct target *t, const struct map *base)
{
	Elf64_Ehdr eh;
	uint64_t first = UINT64_MAX, last = 0;
	size_t i;

	if (target_read(t, base->start, &eh, sizeof(eh)) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		return 0;
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t end;

		if (target_read(t, base->start + eh.e_phoff +
				i * sizeof(ph), &ph, sizeof(ph)))
			return 0;
		if (ph.p_type != PT_LOAD ||
		    !ph_add(ph.p_vaddr, ph.p_memsz, &end))
			continue;
		first = PH_MIN(first, ph.p_vaddr & ~4095ull);
		last = PH_MAX(last, end);
	}
	if (first == UINT64_MAX || first > last)
		return 0;
	/* Relocated by where its first segment was mapped. */
	return ((last - first) + base->start + 4095) & ~4095ull;
}

static void name_map(struct map *m, const char *name)
{
	free(m->path);
	m->path = xstrdup(name);
}

/*
 * [heap]: brk memory starts past the end of the executable's image, at a
 * random page within 1 GiB of it: the first anonymous writable mapping
 * there.  [stack]: the mapping of the main thread's stack pointer (the
 * thread whose id is the process's).  The executable: the file holding
 * AT_ENTRY.
 */
static void name_maps(struct parse *x)
{
	struct target *t = x->t;
	const struct map *e = x->entry ? maps_find(&t->maps, x->entry) : NULL;
	const struct map *base = NULL;
	uint64_t image_end = 0;
	size_t i;

	if (e && e->inode) {
		for (i = 0; i < t->maps.n; i++)
			if (t->maps.v[i].inode == e->inode &&
			    t->maps.v[i].offset == 0 &&
			    t->maps.v[i].start <= e->start)
				base = &t->maps.v[i];
		if (!t->exe)
			t->exe = xstrdup(e->path);
	}
	if (base)
		image_end = exe_image_end(t, base);
	for (i = 0; image_end && i < t->maps.n; i++) {
		struct map *m = &t->maps.v[i];

		if (m->path || !(m->perms & MAP_W) || m->start < image_end)
			continue;
		if (m->start - image_end <= BRK_RANDOM)
			name_map(m, "[heap]");
		break;
	}
	for (i = 0; i < t->nthreads; i++) {
		struct map *m;

		if (t->threads[i].tid != t->pid)
			continue;
		m = (struct map *)maps_find(&t->maps, t->threads[i].sp);
		if (m && !m->path)
			name_map(m, "[stack]");
	}
	/* The vDSO (AT_SYSINFO_EHDR) and the kernel's data pages mapped
	 * just below it, which no core holds. */
	for (i = 0; x->vdso && i < t->maps.n; i++) {
		struct map *m = &t->maps.v[i];
		size_t k;

		if (m->start != x->vdso || m->path)
			continue;
		name_map(m, "[vdso]");
		for (k = i; k > 0 && k + 2 > i && !t->maps.v[k - 1].path &&
		     t->maps.v[k - 1].end == t->maps.v[k].start; k--)
			name_map(&t->maps.v[k - 1], "[vvar]");
		break;
	}
}

/*
 * What the core lacks that pyheap would read: anonymous memory (where
 * the objects are) and the brk heap and stack, readable and not code,
 * that it holds none or only part of.  Files' mappings are read from the
 * files; the kernel's [vvar] and [vdso] are no process memory.
 */
static void count_missing(struct target *t, struct core *c)
{
	size_t i;

	for (i = 0; i < t->maps.n; i++) {
		const struct map *m = &t->maps.v[i];
		uint64_t have = 0;
		size_t lo, hi;

		if (!(m->perms & MAP_R) || (m->perms & MAP_X) ||
		    (m->path && strcmp(m->path, "[heap]") &&
		     strcmp(m->path, "[stack]")))
			continue;
		/* Segments are sorted: the one starting there, if any. */
		lo = 0;
		hi = c->nsegs;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (c->segs[mid].start < m->start)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < c->nsegs && c->segs[lo].start == m->start)
			have = c->segs[lo].end - c->segs[lo].start;
		if (have < m->end - m->start) {
			c->info.missing_mappings++;
			c->info.missing_bytes += m->end - m->start - have;
		}
	}
}

/*
 * gdb's gcore writes no segment for a file mapping it does not dump (text,
 * read-only data): its NT_FILE entry is then the only record of the
 * mapping, taken as readable (its bytes come from the file).  The kernel
 * writes a segment for every mapping.
 */
static void add_file_maps(struct parse *x)
{
	struct maps *ms = &x->t->maps;
	size_t i, n = ms->n;

	/* The segments' mappings by address, to find an overlap by
	 * binary search (segments of a sane core do not overlap; the
	 * caller rejects the core if they do). */
	if (n)
		qsort(ms->v, n, sizeof(*ms->v), cmp_map);
	for (i = 0; i < x->nfiles; i++) {
		const struct nt_file *f = &x->files[i];
		size_t lo = 0, hi = n;
		struct map *m;

		if (f->end <= f->start || ms->n >= CORE_MAX_SEGMENTS)
			continue;
		while (lo < hi) { /* the first mapping ending after start */
			size_t mid = lo + (hi - lo) / 2;

			if (ms->v[mid].end <= f->start)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && ms->v[lo].start < f->end)
			continue;
		PH_GROW(ms->v, ms->alloc, ms->n + 1);
		m = &ms->v[ms->n++];
		memset(m, 0, sizeof(*m));
		m->start = f->start;
		m->end = f->end;
		m->offset = f->pgoff;
		m->perms = MAP_R | MAP_P;
		m->path = xstrdup(f->path);
		m->inode = path_number(x, m->path);
	}
}

/* ---- opening ------------------------------------------------------------ */

static int parse_core(struct parse *x)
{
	struct core *c = x->c;
	Elf64_Ehdr eh;
	size_t i, pass, phnum;
	int rc;

	if (c->len >= 4 && !memcmp(c->map, "\x28\xb5\x2f\xfd", 4))
		return ph_error(PH_E_FORMAT, "%s: a zstd-compressed core: "
				"decompress it first (coredumpctl dump PID "
				"-o FILE, or zstd -d)", x->path);
	if (c->len < sizeof(eh))
		return corrupt(x->path, "too short for an ELF header");
	memcpy(&eh, c->map, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return corrupt(x->path, "not an ELF file");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return corrupt(x->path, "not an x86_64 core");
	if (eh.e_type != ET_CORE)
		return corrupt(x->path, "an ELF file, but not a core");
	/* More than 65534 mappings: e_phnum is PN_XNUM and section header
	 * 0's sh_info holds the count (elf(5); the kernel's
	 * fill_extnum_info). */
	phnum = eh.e_phnum;
	if (phnum == PN_XNUM) {
		Elf64_Shdr sh;

		if (eh.e_shoff > c->len || c->len - eh.e_shoff < sizeof(sh))
			return corrupt(x->path, "PN_XNUM without section 0");
		memcpy(&sh, c->map + eh.e_shoff, sizeof(sh));
		phnum = sh.sh_info;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || !phnum ||
	    phnum > CORE_MAX_SEGMENTS + 16 || eh.e_phoff > c->len ||
	    (uint64_t)phnum * sizeof(Elf64_Phdr) > c->len - eh.e_phoff)
		return corrupt(x->path, "bad program headers");
	/* Notes first: NT_FILE names the segments. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < phnum; i++) {
			Elf64_Phdr ph;

			memcpy(&ph, c->map + eh.e_phoff + i * sizeof(ph),
			       sizeof(ph));
			if (pass == 0 && ph.p_type == PT_NOTE) {
				if (ph.p_offset > c->len ||
				    ph.p_filesz > c->len - ph.p_offset)
					return corrupt(x->path, "cut short "
						       "(its notes lie past "
						       "its end)");
				rc = parse_notes(x, c->map + ph.p_offset,
						 (size_t)ph.p_filesz);
				if (rc)
					return rc;
			} else if (pass == 1 && ph.p_type == PT_LOAD) {
				rc = add_load(x, &ph);
				if (rc)
					return rc;
			}
		}
		if (pass == 0)
			number_files(x);
	}
	add_file_maps(x);
	if (!x->t->maps.n)
		return corrupt(x->path, "no memory segments");
	if (!x->t->nthreads)
		return corrupt(x->path, "no thread (NT_PRSTATUS)");
	qsort(x->t->maps.v, x->t->maps.n, sizeof(*x->t->maps.v), cmp_map);
	for (i = 1; i < x->t->maps.n; i++)
		if (x->t->maps.v[i].start < x->t->maps.v[i - 1].end)
			return corrupt(x->path, "overlapping segments");
	if (c->nsegs)
		qsort(c->segs, c->nsegs, sizeof(*c->segs), cmp_seg);
	if (!x->have_psinfo)
		x->t->pid = x->t->threads[0].tid;
	return 0;
}

int target_core_open(const char *path, const struct core_opts *o,
		     struct target **out)
{
	struct parse x = { .path = path, .paths = STRMAP_INIT,
			   .file_at = U64MAP_INIT };
	struct target *t;
	struct core *c;
	struct stat st;
	int fd, rc;

	*out = NULL;
	fd = ph_open_ro(path);
	if (fd < 0)
		return ph_error(errno == ENOENT ? PH_E_NOTFOUND : PH_E_IO,
				"cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !st.st_size) {
		close(fd);
		return ph_error(PH_E_FORMAT, "%s: not a core file (not a "
				"regular file, or empty)", path);
	}
	t = xcalloc(1, sizeof(*t));
	c = xcalloc(1, sizeof(*c));
	t->ops = &core_target_ops;
	t->priv = c;
	t->inodes_unknown = true;
	c->len = (size_t)st.st_size;
	c->map = mmap(NULL, c->len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		rc = ph_error(PH_E_IO, "cannot map %s: %s", path,
			      strerror(errno));
		goto fail;
	}
	c->root = xstrdup(o && o->sysroot ? o->sysroot : "");
	t->root = xstrdup(c->root);
	x.c = c;
	x.t = t;
	rc = parse_core(&x);
	if (rc)
		goto fail;
	/* --exe: the executable's mappings read from that file. */
	name_maps(&x);
	if (o && o->exe && t->exe) {
		size_t i;

		for (i = 0; i < c->nfiles; i++)
			if (!strcmp(c->files[i].path, t->exe)) {
				free(c->files[i].path);
				c->files[i].path = xstrdup(o->exe);
				c->files[i].absolute = true;
			}
		for (i = 0; i < t->maps.n; i++)
			if (t->maps.v[i].path &&
			    !strcmp(t->maps.v[i].path, t->exe))
				t->maps.v[i].open_path = xstrdup(o->exe);
	}
	count_missing(t, c);
	for (size_t i = 0; ph_verbosity >= 3 && i < t->maps.n; i++)
		ph_debug(3, "core map %#" PRIx64 "-%#" PRIx64 " %c%c%c %s%s",
			 t->maps.v[i].start, t->maps.v[i].end,
			 t->maps.v[i].perms & MAP_R ? 'r' : '-',
			 t->maps.v[i].perms & MAP_W ? 'w' : '-',
			 t->maps.v[i].perms & MAP_X ? 'x' : '-',
			 t->maps.v[i].path ? t->maps.v[i].path : "",
			 t->maps.v[i].copied ? " (held)" : "");
	rc = core_check_files(path, t, c);
	if (rc)
		goto fail;
	free(x.files);
	strmap_release(&x.paths);
	u64map_release(&x.file_at);
	*out = t;
	return 0;
fail:
	free(x.files);
	strmap_release(&x.paths);
	u64map_release(&x.file_at);
	target_close(t);
	return rc;
}
