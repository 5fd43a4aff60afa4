/*
 * Runs a libFuzzer entry point over files and directories of inputs, so
 * the committed corpora and regression inputs replay in ctest with gcc
 * (and ASan + UBSan in the sanitizer build) and without libFuzzer:
 *
 *   fuzz_replay_census DIR|FILE...
 *
 * Prints how many inputs ran; a crash is the test's failure, with the
 * input named on stderr first.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* Zero the stack below us, so that a pointer an input's run left in a
 * dead frame does not hide a leak from LeakSanitizer at exit. */
static void __attribute__((noinline)) scrub_stack(void)
{
	volatile char pad[256 * 1024];

	memset((char *)pad, 0, sizeof(pad));
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;

	if (!f) {
		perror(path);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)))
		strbuf_add(&sb, buf, n);
	fclose(f);
	fprintf(stderr, "replay %s (%zu bytes)\n", path, sb.len);
	LLVMFuzzerTestOneInput((const unsigned char *)sb.buf, sb.len);
	strbuf_release(&sb);
	scrub_stack();
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path, size_t *count)
{
	struct dirent *de;
	struct stat st;
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	DIR *d;
	int rc = 0;

	if (stat(path, &st)) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	d = opendir(path);
	if (!d) {
		perror(path);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "README"))
			continue;
		PH_GROW(names, alloc, n + 1);
		names[n++] = xasprintf("%s/%s", path, de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		if (!rc)
			rc = run_path(names[i], count);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int i, rc = 0;

	for (i = 1; i < argc && !rc; i++)
		rc = run_path(argv[i], &count);
	printf("%zu inputs replayed\n", count);
	return rc ? 1 : 0;
}
