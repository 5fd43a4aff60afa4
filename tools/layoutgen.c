/*
 * layoutgen — print one built-in layout table (src/python/tables.c) from the
 * DWARF of a CPython build:
 *
 *     layoutgen ELF MAJOR.MINOR.MICRO LABEL
 *
 * ELF is a libpython, an executable, or a separate debug file (Debian's
 * -dbg packages carry the DWARF of the stripped release binaries under
 * /usr/lib/debug/.build-id/).
 *
 * tools/gen-tables.sh runs it for every pyenv interpreter and writes
 * tables.c.  The values are the DWARF's own; tests/unit/test_layout.c
 * re-reads the DWARF of every interpreter on the machine and checks the
 * committed tables still agree field by field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/python.h"

int main(int argc, char **argv)
{
	struct objfile of;
	struct py_layout L;
	int major, minor, micro, rc, n = 0;
	bool ft;
	size_t i;

	/* "3.13.15t": a free-threaded build (ABI flag t). */
	if (argc != 4 ||
	    sscanf(argv[2], "%d.%d.%d%n", &major, &minor, &micro, &n) != 3 ||
	    (argv[2][n] && strcmp(argv[2] + n, "t")) ||
	    major < 0 || major > 255 || minor < 0 || minor > 255 ||
	    micro < 0 || micro > 255) {
		fprintf(stderr, "usage: layoutgen ELF MAJOR.MINOR.MICRO[t] "
			"LABEL\n");
		return 64;
	}
	ft = argv[2][n] == 't';
	rc = objfile_open_path(&of, argv[1]);
	if (rc) {
		fprintf(stderr, "layoutgen: %s\n", ph_errmsg());
		return 2;
	}
	if (!of.has_dwarf) {
		fprintf(stderr, "layoutgen: %s has no DWARF\n", argv[1]);
		return 2;
	}
	L.major = major;
	L.minor = minor;
	py_layout_from_dwarf(&L, &of);
	printf("static const struct py_table table_%d_%d_%d%s = {\n", major,
	       minor, micro, ft ? "t" : "");
	printf("\t.major = %d, .minor = %d, .micro = %d,\n", major, minor,
	       micro);
	if (ft)
		printf("\t.free_threaded = true,\n");
	printf("\t.nfields = %d, .nstructs = %d,\n", (int)PY_F__COUNT,
	       (int)PY_S__COUNT);
	printf("\t.generated_from = \"%s\",\n", argv[3]);
	printf("\t.size = {\n");
	for (i = 0; i < PY_S__COUNT; i++)
		printf("\t\t[PY_S_%s] = %lld,\n", py_struct_info[i].id,
		       (long long)L.size[i]);
	printf("\t},\n\t.field = {\n");
	for (i = 0; i < PY_F__COUNT; i++)
		printf("\t\t[PY_F_%s] = { %lld, %u },\n", py_field_info[i].id,
		       (long long)L.off[i], L.off[i] >= 0 ? L.width[i] : 0);
	printf("\t},\n};\n\n");
	objfile_release(&of);
	return 0;
}
