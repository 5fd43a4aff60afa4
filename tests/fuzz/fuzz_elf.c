/*
 * libFuzzer target for the ELF and DWARF path as pyheap takes it from a
 * process's files (symbols/elf.c, symbols/dwarf.c, python/layout.c): the
 * input is an ELF object, as a container could plant it under
 * /proc/PID/root.  pyheap opens it (libelf: headers, sections, .symtab
 * and .dynsym, the build-id), looks up the symbols it needs, names an
 * address, reads a section, and takes every CPython struct layout from its
 * DWARF (libdw: each struct of python/fields.h by name, each member's
 * offset and size, nested members).  It must end in values or an error:
 * no crash, hang or unbounded allocation in pyheap or in the libraries as
 * pyheap calls them.  Separate debug files are not looked for
 * (PYHEAP_NO_DEBUG_FILES), so a run does not depend on the machine.
 *
 * Build with clang (tests/CMakeLists.txt, target fuzz_elf), run:
 *   build-clang/tests/fuzz_elf -max_total_time=60 -close_fd_mask=2 \
 *       CORPUS tests/fuzz/corpus/elf
 * Seeds: tests/fuzz/mkelf.sh (small objects with CPython's structs in
 * their DWARF); tests/fuzz/ci.sh adds the machine's own CPython extension
 * modules.  The same entry point is linked by gcc into fuzz_replay_elf.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "python/python.h"
#include "symbols/symbols.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const syms[] = {
		"_PyRuntime", "PyType_Type", "Py_Version", "main_arena",
		"PyUnicodeUCS4_FromString", "interp_head",
	};
	static int fd = -1;
	static char path[64];
	struct objfile of;
	struct py_layout L;
	const void *sec;
	uint64_t addr, len;
	const char *name;
	size_t i;

	if (fd < 0) {
		setenv("PYHEAP_NO_DEBUG_FILES", "1", 1);
		fd = memfd_create("pyheap-fuzz-elf", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) ||
	    (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	if (objfile_open_path(&of, path))
		return 0;
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if (!objfile_sym(&of, syms[i], &addr, &len))
			objfile_sym_at(&of, addr + len / 2, &name, NULL, NULL);
	objfile_section_data(&of, ".rodata", &sec, &len);
	memset(&L, 0, sizeof(L));
	L.major = 3;
	L.minor = 13;
	py_layout_from_dwarf(&L, &of);
	objfile_release(&of);
	return 0;
}
