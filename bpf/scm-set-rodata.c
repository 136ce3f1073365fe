// SPDX-License-Identifier: GPL-2.0-only
/*
 * scm-set-rodata INPUT OUTPUT NAME=VALUE...
 *
 * Sets 32-bit .rodata variables ("const volatile __u32", constants to the
 * verifier) in a copy of a BPF object, before "bpftool prog loadall" reads
 * it.  INPUT: an ELF64 relocatable EM_BPF object of either byte order, read
 * with libelf, never modified.  Each NAME is exactly one 4-byte symbol inside
 * .rodata and gets VALUE (decimal, or hexadecimal after 0x) in the object's
 * byte order; no other byte changes.  OUTPUT (which may be INPUT) is written
 * as OUTPUT.XXXXXX, synced, made mode 0644 and renamed over OUTPUT only when
 * every check passed: it is the whole new object or left as it was.
 *
 * Exit status: 0 done; 1 INPUT is not a suitable object, or an I/O error;
 * 2 usage error (arguments, NAME=VALUE, a VALUE, a NAME given twice).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_BAD	1
#define EXIT_USAGE	2
#define VAR_SIZE	4	/* every variable set is a __u32 */

/* One NAME=VALUE, and where in the file its value goes. */
struct var {
	const char *name;
	int len;
	uint32_t value;
	int found;
	uint64_t off;
};

/* Print "scm-set-rodata: MESSAGE" and return -1. */
__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("scm-set-rodata: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int parse_var(const char *arg, struct var *v)
{
	const char *eq = strchr(arg, '='), *s = eq ? eq + 1 : "";
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	unsigned long long n;
	char *end;

	if (!eq || eq == arg)
		return fail("'%s': expected NAME=VALUE", arg);
	errno = 0;
	n = strtoull(s, &end, hex ? 16 : 10);
	/* strtoull would take a sign or leading blanks: a digit comes first. */
	if (*s < '0' || *s > '9' || *end || errno || n > UINT32_MAX)
		return fail("'%s': VALUE must be decimal or 0x-hexadecimal, 0 to 0xffffffff",
			    arg);
	v->name = arg;
	v->len = (int)(eq - arg);
	v->value = (uint32_t)n;
	return 0;
}

/* Set the file offset of every variable's value: the checks are here. */
static int locate(Elf *elf, const char *path, size_t size, struct var *vs, int n)
{
	size_t shstrndx, strndx = 0, rodata = 0, i;
	Elf_Scn *scn = NULL, *symscn = NULL;
	GElf_Shdr sh, ro = { 0 };
	const char *name;
	Elf_Data *syms;
	GElf_Ehdr eh;
	GElf_Sym sym;
	int j;

	if (elf_kind(elf) != ELF_K_ELF)
		return fail("%s: not an ELF object", path);
	if (!gelf_getehdr(elf, &eh) || elf_getshdrstrndx(elf, &shstrndx))
		return fail("%s: %s", path, elf_errmsg(-1));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_REL ||
	    eh.e_machine != EM_BPF)
		return fail("%s: not a 64-bit relocatable BPF object", path);
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) ||
		    !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			return fail("%s: %s", path, elf_errmsg(-1));
		if (sh.sh_type == SHT_SYMTAB) {
			symscn = scn;
			strndx = sh.sh_link;
		} else if (sh.sh_type == SHT_PROGBITS && !strcmp(name, ".rodata")) {
			rodata = elf_ndxscn(scn);
			ro = sh;
		}
	}
	if (!symscn || !rodata)
		return fail("%s: no %s", path, symscn ? ".rodata section" : "symbol table");
	/* The one bound libelf does not check: .rodata's bytes are never read. */
	if (ro.sh_offset > size || ro.sh_size > size - ro.sh_offset)
		return fail("%s: truncated: .rodata runs past the end of the file", path);
	if (!(syms = elf_getdata(symscn, NULL)))
		return fail("%s: symbol table: %s", path, elf_errmsg(-1));
	/* Every symbol: bpftool's linker leaves sh_info at 0. */
	for (i = 0; gelf_getsym(syms, (int)i, &sym); i++) {
		if (!(name = elf_strptr(elf, strndx, sym.st_name)))
			return fail("%s: symbol %zu: %s", path, i, elf_errmsg(-1));
		for (j = 0; j < n; j++) {
			struct var *v = &vs[j];

			if (strncmp(name, v->name, v->len) || name[v->len])
				continue;
			if (v->found++)
				return fail("%s: symbol '%.*s' defined twice", path, v->len, v->name);
			if (sym.st_shndx != rodata || sym.st_size != VAR_SIZE ||
			    ro.sh_size < VAR_SIZE || sym.st_value > ro.sh_size - VAR_SIZE)
				return fail("%s: symbol '%.*s' is not 4 bytes in .rodata", path,
					    v->len, v->name);
			v->off = ro.sh_offset + sym.st_value;
		}
	}
	for (j = 0; j < n; j++)
		if (!vs[j].found)
			return fail("%s: no symbol '%.*s'", path, vs[j].len, vs[j].name);
	return 0;
}

/* Write buf to a temporary file next to path, then rename it over path. */
static int write_output(const char *path, const char *buf, size_t size)
{
	char *tmp = malloc(strlen(path) + sizeof(".XXXXXX"));
	int fd = -1, ret = -1;
	FILE *f = NULL;

	if (!tmp)
		return fail("%s: out of memory", path);
	strcat(strcpy(tmp, path), ".XXXXXX");
	if ((fd = mkstemp(tmp)) < 0 || !(f = fdopen(fd, "w")))
		fail("%s: cannot create %s: %s", path, tmp, strerror(errno));
	else if (fwrite(buf, 1, size, f) != size || fflush(f) || fchmod(fd, 0644) || fsync(fd))
		fail("%s: %s", tmp, strerror(errno));
	else
		ret = 0;
	if (f && fclose(f) && !ret)
		ret = fail("%s: %s", tmp, strerror(errno));
	else if (!f && fd >= 0)
		close(fd);
	if (!ret && rename(tmp, path))
		ret = fail("%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
	if (ret && fd >= 0)
		unlink(tmp);
	free(tmp);
	return ret;
}

int main(int argc, char **argv)
{
	int i, j, fd = -1, n = argc - 3, ret = EXIT_USAGE;
	char *img = NULL, *buf = NULL;
	struct var *vs = NULL;
	Elf *elf = NULL;
	size_t size = 0;

	if (argc < 4)
		return fail("usage: scm-set-rodata INPUT OUTPUT NAME=VALUE..."), EXIT_USAGE;
	if (!(vs = calloc((size_t)n, sizeof(*vs))))
		return fail("out of memory"), EXIT_BAD;
	for (i = 0; i < n; i++) {
		if (parse_var(argv[3 + i], &vs[i]))
			goto out;
		for (j = 0; j < i; j++)
			if (vs[j].len == vs[i].len && !memcmp(vs[j].name, vs[i].name, vs[i].len)) {
				fail("'%.*s' given twice", vs[i].len, vs[i].name);
				goto out;
			}
	}
	ret = EXIT_BAD;
	elf_version(EV_CURRENT);
	if ((fd = open(argv[1], O_RDONLY | O_CLOEXEC)) < 0) {
		fail("%s: %s", argv[1], strerror(errno));
		goto out;
	}
	if (!(elf = elf_begin(fd, ELF_C_READ, NULL)) || !(img = elf_rawfile(elf, &size))) {
		fail("%s: %s", argv[1], elf_errmsg(-1));
		goto out;
	}
	if (locate(elf, argv[1], size, vs, n))
		goto out;
	/* The values go into a copy: the image is libelf's. */
	if (!(buf = malloc(size))) {
		fail("out of memory");
		goto out;
	}
	memcpy(buf, img, size);
	for (i = 0; i < n; i++)
		for (j = 0; j < VAR_SIZE; j++)
			buf[vs[i].off + (img[EI_DATA] == ELFDATA2MSB ? 3 - j : j)] =
				(char)(vs[i].value >> (8 * j));
	if (!write_output(argv[2], buf, size))
		ret = 0;
out:
	elf_end(elf);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(vs);
	return ret;
}
