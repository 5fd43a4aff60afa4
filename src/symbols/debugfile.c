/*
 * Separate debug files: which file holds the DWARF or the full symbol
 * table a stripped ELF object lost, found as gdb finds it (by build-id, by
 * .gnu_debuglink and its CRC), under the target's root first.  Every file
 * is opened with ph_open_ro(): in the sandbox, by the parent, confined to
 * that root (sandbox/sandbox.h).
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <elfutils/libdwelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "symbols.h"

#include "internal.h"

static Elf_Scn *find_scn(Elf *elf, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh))
			continue;
		n = elf_strptr(elf, shstrndx, sh->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

bool debug_has_info(Elf *elf)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_scn(elf, ".debug_info", &sh);

	/* A stripped file can keep the header as NOBITS; that has no DWARF. */
	if (scn && sh.sh_type != SHT_NOBITS)
		return true;
	/* Old GNU-compressed flavour, which libdw still reads. */
	return find_scn(elf, ".zdebug_info", &sh) != NULL;
}

bool debug_has_symtab(Elf *elf)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_scn(elf, ".symtab", &sh);

	return scn && sh.sh_type == SHT_SYMTAB;
}

void debug_build_id(Elf *elf, char out[41])
{
	const void *p;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &p);
	ssize_t i;

	out[0] = '\0';
	/* Longer ids than SHA-1 exist in theory; a truncated one would name
	 * the wrong debug file, so treat it as none. */
	if (n <= 0 || n > 20)
		return;
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", ((const unsigned char *)p)[i]);
}

static int file_crc32(int fd, uint32_t *out)
{
	unsigned char buf[65536];
	uLong crc = crc32(0L, Z_NULL, 0);
	off_t pos = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		crc = crc32(crc, buf, (uInt)n);
		pos += n;
	}
	*out = (uint32_t)crc;
	return 0;
}

/* Accept `path` as the debug file of `of` if it is a different file that
 * belongs to it (same build-id, or the debuglink CRC when an id is missing)
 * and actually carries something we want. */
static bool try_debug_file(struct objfile *of, const char *path,
			   bool check_crc, uint32_t crc)
{
	struct stat st, mst;
	char id[41];
	uint32_t c;
	Elf *elf;
	int fd = ph_open_ro(path);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (fstat(of->fd, &mst) == 0 && st.st_dev == mst.st_dev &&
	     st.st_ino == mst.st_ino))
		goto reject;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		goto reject;
	if (elf_kind(elf) != ELF_K_ELF)
		goto reject_elf;
	debug_build_id(elf, id);
	if (*id && *of->build_id) {
		if (strcmp(id, of->build_id)) {
			ph_debug(2, "%s: build-id %s does not match %s", path,
				 id, of->build_id);
			goto reject_elf;
		}
	} else if (check_crc) {
		if (file_crc32(fd, &c) < 0 || c != crc) {
			ph_debug(2, "%s: CRC does not match the debuglink "
				 "of %s", path, of->path);
			goto reject_elf;
		}
	}
	if (!debug_has_info(elf) && !debug_has_symtab(elf))
		goto reject_elf;
	of->debug_fd = fd;
	of->debug_elf = elf;
	of->debug_path = xstrdup(path);
	ph_debug(2, "debug file for %s: %s", of->path, path);
	return true;

reject_elf:
	elf_end(elf);
reject:
	close(fd);
	return false;
}

/* Search the usual places for a separate debug file, as gdb does: by
 * build-id, then by .gnu_debuglink next to the file, in .debug/ below it,
 * and under /usr/lib/debug.  `root` comes first so a container's own debug
 * files win over the host's; `dir` is the file's directory as the target
 * sees it. */
void debug_find_file(struct objfile *of, const char *root,
			    const char *dir)
{
	const char *prefixes[2];
	const char *link;
	GElf_Word crc = 0;
	size_t np = 0, i;

	if (root && *root && strcmp(root, "/"))
		prefixes[np++] = root;
	prefixes[np++] = "";
	link = dwelf_elf_gnu_debuglink(of->elf, &crc);
	/* A link name is a file name; anything with a slash is not ours to
	 * follow. */
	if (link && (!*link || strchr(link, '/')))
		link = NULL;
	for (i = 0; i < np; i++) {
		const char *p = prefixes[i];
		char *cand[4] = { NULL };
		size_t nc = 0, k;
		bool found = false;

		if (*of->build_id)
			cand[nc++] = xasprintf("%s/usr/lib/debug/.build-id/"
					       "%.2s/%s.debug", p, of->build_id,
					       of->build_id + 2);
		if (link && dir) {
			cand[nc++] = xasprintf("%s%s/%s", p, dir, link);
			cand[nc++] = xasprintf("%s%s/.debug/%s", p, dir, link);
			if (*dir == '/')
				cand[nc++] = xasprintf("%s/usr/lib/debug%s/%s",
						       p, dir, link);
		}
		for (k = 0; k < nc; k++) {
			bool is_link = !(*of->build_id && k == 0);

			if (!found)
				found = try_debug_file(of, cand[k], is_link,
						       crc);
			free(cand[k]);
		}
		if (found)
			return;
	}
}

/* Everything after the file is open: sections, build-id, debug file,
 * symbols.  `dir` is the directory to look for a debuglink in. */
