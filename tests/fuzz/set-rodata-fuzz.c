// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for scm-set-rodata (issue 6, item 7).
 *
 * The helper is a command-line program: its main() is compiled in here under
 * another name and run, for each input, as
 *
 *	scm-set-rodata IN OUT scm_mask=0x1 scm_level=2
 *
 * with the input written to IN.  Built with -fsanitize=fuzzer,address,
 * undefined.  Besides "no crash, no sanitizer report, no leak", every run
 * checks what the helper promises:
 *   - the exit status is 0, 1 or 2 (an exit() anywhere is reported by
 *     libFuzzer as "fuzz target exited");
 *   - IN is never modified;
 *   - on success OUT has IN's size and differs from it in at most the 8
 *     bytes of the two variables, and is mode 0644;
 *   - on failure OUT does not exist;
 *   - no temporary file (OUT.XXXXXX) is left behind.
 * A broken promise aborts, which libFuzzer reports as a crash with the input.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

/* The helper's error messages are formatted as usual, then thrown away. */
static FILE *scm_fuzz_stderr;
#undef stderr
#define stderr scm_fuzz_stderr

#define main scm_set_rodata_main
#include "../../bpf/scm-set-rodata.c"
#undef main
#undef stderr

#include <dirent.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[4096], in_path[4200], out_path[4200];

static void die(const char *what)
{
	fprintf(stderr, "set-rodata-fuzz: %s: %s\n", what, strerror(errno));
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("SCM_FUZZ_TMPDIR");

	(void)argc;
	(void)argv;
	if (!base || !*base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/scm-fuzz.XXXXXX", base);
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(in_path, sizeof(in_path), "%s/in.o", dir);
	snprintf(out_path, sizeof(out_path), "%s/out.o", dir);
	scm_fuzz_stderr = fopen("/dev/null", "w");
	if (!scm_fuzz_stderr)
		die("/dev/null");
	return 0;
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "we");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		die(path);
}

/* The whole file at path, or NULL (with *size 0) when it does not exist. */
static unsigned char *slurp(const char *path, size_t *size)
{
	unsigned char *buf;
	struct stat st;
	FILE *f;

	*size = 0;
	f = fopen(path, "re");
	if (!f && errno == ENOENT)
		return NULL;
	if (!f || fstat(fileno(f), &st))
		die(path);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		die("malloc");
	*size = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) || fclose(f))
		die(path);
	return buf;
}

/* Only in.o (and out.o after a success) may be in the directory. */
static void check_no_leftovers(int ok)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		die(dir);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "in.o") ||
		    (ok && !strcmp(e->d_name, "out.o")))
			continue;
		fprintf(stderr, "set-rodata-fuzz: left behind: %s/%s\n", dir,
			e->d_name);
		abort();
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char prog[] = "scm-set-rodata", mask[] = "scm_mask=0x1",
	     level[] = "scm_level=2";
	char *argv[] = { prog, in_path, out_path, mask, level, NULL };
	unsigned char *in, *out;
	size_t in_size, out_size, i, diff = 0;
	struct stat st;
	int ret;

	write_file(in_path, data, size);
	if (unlink(out_path) && errno != ENOENT)
		die(out_path);

	ret = scm_set_rodata_main(5, argv);

	if (ret != 0 && ret != 1 && ret != 2) {
		fprintf(stderr, "set-rodata-fuzz: exit status %d\n", ret);
		abort();
	}
	in = slurp(in_path, &in_size);
	if (!in || in_size != size || (size && memcmp(in, data, size))) {
		fprintf(stderr, "set-rodata-fuzz: the input file was changed\n");
		abort();
	}
	out = slurp(out_path, &out_size);
	if (ret == 0) {
		if (!out || out_size != size) {
			fprintf(stderr, "set-rodata-fuzz: success, but the output is %s (%zu bytes, input %zu)\n",
				out ? "of another size" : "missing", out_size, size);
			abort();
		}
		for (i = 0; i < size; i++)
			diff += out[i] != data[i];
		if (diff > 8) {
			fprintf(stderr, "set-rodata-fuzz: %zu bytes changed, at most 8 may\n", diff);
			abort();
		}
		if (stat(out_path, &st) || (st.st_mode & 07777) != 0644) {
			fprintf(stderr, "set-rodata-fuzz: output mode %o, expected 0644\n",
				(unsigned int)(st.st_mode & 07777));
			abort();
		}
	} else if (out) {
		fprintf(stderr, "set-rodata-fuzz: exit %d, but an output file was written\n", ret);
		abort();
	}
	check_no_leftovers(ret == 0);
	free(in);
	free(out);
	return 0;
}
