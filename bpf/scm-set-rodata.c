// SPDX-License-Identifier: GPL-2.0-only
/*
 * scm-set-rodata - write 32-bit values into .rodata variables of a copy of
 * a BPF ELF object.
 *
 *	scm-set-rodata INPUT OUTPUT NAME=VALUE [NAME=VALUE ...]
 *
 * same-cgroup-mark keeps its tunables in .rodata ("const volatile __u32"),
 * so the verifier sees them as constants.  This helper sets them before
 * "bpftool prog loadall" reads the object, without a libbpf-based loader.
 *
 * What is patched, in the on-disk layout (ELF64, relocatable, EM_BPF):
 *
 *   Elf64_Ehdr at offset 0        e_ident[EI_DATA] gives the byte order of
 *                                 every multi-byte field and of the patched
 *                                 value; e_shoff/e_shnum/e_shstrndx locate
 *                                 the section header table (extended
 *                                 numbering via section 0 is understood)
 *   Elf64_Shdr[e_shnum]           .shstrtab names the sections; ".rodata"
 *                                 must be SHT_PROGBITS; the one SHT_SYMTAB
 *                                 section has sh_link -> its SHT_STRTAB
 *   Elf64_Sym[] in .symtab        every entry is scanned (libbpf's linker,
 *                                 "bpftool gen object", leaves sh_info = 0);
 *                                 NAME must occur exactly once, with
 *                                 st_shndx = .rodata, st_size = 4 and
 *                                 st_value + 4 <= .rodata sh_size
 *   .rodata bytes                 the 4 bytes at file offset
 *                                 .rodata sh_offset + st_value get VALUE,
 *                                 in the object's byte order
 *
 * Nothing else changes.  Every check is done before any byte is written.
 * INPUT is read whole into memory (at most 64 MiB) and never modified;
 * OUTPUT is written to a temporary file next to it ("OUTPUT.XXXXXX"),
 * fsync()ed, made mode 0644 and renamed over OUTPUT, so OUTPUT is either
 * the complete new object or untouched.  INPUT and OUTPUT may be the same.
 *
 * VALUE is decimal ("1073741824") or hexadecimal with a 0x/0X prefix
 * ("0x40000000") and must fit in 32 bits unsigned.  Leading zeros in a
 * decimal VALUE do not make it octal.
 *
 * Exit status:
 *	0  success
 *	1  INPUT is not a valid or suitable object, or an I/O error
 *	2  usage error: argument count, NAME=VALUE syntax, bad VALUE,
 *	   the same NAME given twice
 */
#define _POSIX_C_SOURCE 200809L

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG		"scm-set-rodata"
#define MAX_FILE_SIZE	(64u * 1024 * 1024)
#define VAR_SIZE	4	/* every variable patched is a __u32 */

#define EXIT_BAD	1
#define EXIT_USAGE	2

/* One NAME=VALUE from the command line and where it goes in the file. */
struct assign {
	const char *name;
	size_t name_len;
	uint32_t value;
	uint64_t file_off;
};

/* A section whose bytes lie inside the file. */
struct sect {
	uint64_t idx;
	uint64_t off;
	uint64_t size;
};

struct elf {
	const char *path;
	unsigned char *buf;
	size_t size;
	int msb;		/* ELFDATA2MSB */
	uint64_t shoff;
	uint64_t shnum;
	struct sect shstr;
};

/* Read a field of an ELF structure at base, in the object's byte order. */
#define FIELD(e, base, type, member) \
	rd((e), (base) + offsetof(type, member), sizeof(((type *)0)->member))

static void fail(const char *file, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(const char *file, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	if (file)
		fprintf(stderr, "%s: ", file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(void)
{
	printf(
		"Usage: " PROG " INPUT OUTPUT NAME=VALUE [NAME=VALUE ...]\n"
		"       " PROG " -h | --help\n"
		"\n"
		"Copy the BPF ELF object INPUT to OUTPUT, writing each 32-bit VALUE into\n"
		"the .rodata variable NAME (a 4-byte symbol defined in .rodata), in the\n"
		"object's byte order.  OUTPUT is replaced atomically and only if every\n"
		"check passes; INPUT is never modified and may be the same as OUTPUT.\n"
		"\n"
		"VALUE: decimal, or hexadecimal with a 0x or 0X prefix, 0 to 0xffffffff.\n"
		"\n"
		"Exit status: 0 success; 1 INPUT is not a valid or suitable object, or an\n"
		"I/O error; 2 usage error (arguments, NAME=VALUE syntax, VALUE, a NAME\n"
		"given twice).\n");
}

static uint64_t rd(const struct elf *e, const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (e->msb)
			v = (v << 8) | p[i];
		else
			v |= (uint64_t)p[i] << (8 * i);
	}
	return v;
}

static void wr32(const struct elf *e, unsigned char *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (e->msb)
			p[i] = (unsigned char)(v >> (8 * (3 - i)));
		else
			p[i] = (unsigned char)(v >> (8 * i));
	}
}

/* Parse decimal or 0x/0X hexadecimal into 32 bits; no sign, no spaces. */
static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	unsigned int base = 10, d;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			return -1;
		v = v * base + d;
		if (v > UINT32_MAX)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int parse_assign(const char *arg, struct assign *a)
{
	const char *eq = strchr(arg, '=');

	if (!eq) {
		fail(NULL, "'%s': expected NAME=VALUE", arg);
		return -1;
	}
	if (eq == arg) {
		fail(NULL, "'%s': empty NAME", arg);
		return -1;
	}
	if (parse_u32(eq + 1, &a->value)) {
		fail(NULL, "'%s': VALUE must be decimal or 0x-hexadecimal, 0 to 0xffffffff",
		     arg);
		return -1;
	}
	a->name = arg;
	a->name_len = (size_t)(eq - arg);
	return 0;
}

static int read_input(const char *path, unsigned char **bufp, size_t *sizep)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t size, got = 0;
	ssize_t n;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(path, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		fail(path, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(path, "not a regular file");
		goto out;
	}
	if (st.st_size > MAX_FILE_SIZE) {
		fail(path, "file is %jd bytes, more than the limit of %u",
		     (intmax_t)st.st_size, MAX_FILE_SIZE);
		goto out;
	}
	size = (size_t)st.st_size;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fail(path, "out of memory");
		goto out;
	}
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(path, "read error: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;	/* shrank under us: use what is there */
		got += (size_t)n;
	}
	*bufp = buf;
	*sizep = got;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

static const unsigned char *shdr(const struct elf *e, uint64_t idx)
{
	return e->buf + e->shoff + idx * sizeof(Elf64_Shdr);
}

/* Check that the bytes of section idx lie inside the file. */
static int get_sect(const struct elf *e, uint64_t idx, const char *what,
		    struct sect *s)
{
	const unsigned char *sh = shdr(e, idx);
	uint64_t off = FIELD(e, sh, Elf64_Shdr, sh_offset);
	uint64_t size = FIELD(e, sh, Elf64_Shdr, sh_size);

	if (FIELD(e, sh, Elf64_Shdr, sh_type) == SHT_NOBITS) {
		fail(e->path, "%s (section %ju) is SHT_NOBITS, has no bytes in the file",
		     what, (uintmax_t)idx);
		return -1;
	}
	if (off > e->size || size > e->size - off) {
		fail(e->path, "truncated: %s (section %ju) at offset %ju, size %ju, file is %zu bytes",
		     what, (uintmax_t)idx, (uintmax_t)off, (uintmax_t)size,
		     e->size);
		return -1;
	}
	s->idx = idx;
	s->off = off;
	s->size = size;
	return 0;
}

/* A NUL-terminated string at offset off of string table s, or NULL. */
static const char *get_str(const struct elf *e, const struct sect *s,
			   uint64_t off, const char *what)
{
	const char *p = (const char *)e->buf + s->off + off;

	if (off >= s->size) {
		fail(e->path, "%s: name offset %ju outside string table (section %ju, %ju bytes)",
		     what, (uintmax_t)off, (uintmax_t)s->idx,
		     (uintmax_t)s->size);
		return NULL;
	}
	if (!memchr(p, '\0', s->size - off)) {
		fail(e->path, "%s: name at offset %ju not NUL-terminated in string table (section %ju)",
		     what, (uintmax_t)off, (uintmax_t)s->idx);
		return NULL;
	}
	return p;
}

/* Is this name safe to print on one line? */
static int printable(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (*s < 0x20 || *s > 0x7e || n >= 64)
			return 0;
	return 1;
}

static int check_ehdr(struct elf *e)
{
	const unsigned char *b = e->buf;
	uint64_t shstrndx, shentsize, end;

	if (e->size == 0) {
		fail(e->path, "not an ELF file (empty)");
		return -1;
	}
	if (e->size < SELFMAG || memcmp(b, ELFMAG, SELFMAG)) {
		fail(e->path, "not an ELF file (bad magic)");
		return -1;
	}
	if (e->size < EI_NIDENT) {
		fail(e->path, "truncated: ELF identification ends at %d, file is %zu bytes",
		     EI_NIDENT, e->size);
		return -1;
	}
	if (b[EI_CLASS] == ELFCLASS32) {
		fail(e->path, "ELFCLASS32 object, expected ELFCLASS64");
		return -1;
	}
	if (b[EI_CLASS] != ELFCLASS64) {
		fail(e->path, "bad EI_CLASS %u, expected ELFCLASS64", b[EI_CLASS]);
		return -1;
	}
	if (b[EI_DATA] != ELFDATA2LSB && b[EI_DATA] != ELFDATA2MSB) {
		fail(e->path, "bad EI_DATA %u, expected ELFDATA2LSB or ELFDATA2MSB",
		     b[EI_DATA]);
		return -1;
	}
	e->msb = b[EI_DATA] == ELFDATA2MSB;
	if (b[EI_VERSION] != EV_CURRENT) {
		fail(e->path, "bad EI_VERSION %u", b[EI_VERSION]);
		return -1;
	}
	if (e->size < sizeof(Elf64_Ehdr)) {
		fail(e->path, "truncated: ELF header ends at %zu, file is %zu bytes",
		     sizeof(Elf64_Ehdr), e->size);
		return -1;
	}
	if (FIELD(e, b, Elf64_Ehdr, e_version) != EV_CURRENT) {
		fail(e->path, "bad e_version %ju",
		     (uintmax_t)FIELD(e, b, Elf64_Ehdr, e_version));
		return -1;
	}
	if (FIELD(e, b, Elf64_Ehdr, e_type) != ET_REL) {
		fail(e->path, "e_type %ju, expected ET_REL (a relocatable BPF object)",
		     (uintmax_t)FIELD(e, b, Elf64_Ehdr, e_type));
		return -1;
	}
	if (FIELD(e, b, Elf64_Ehdr, e_machine) != EM_BPF) {
		fail(e->path, "e_machine %ju, expected EM_BPF (%d)",
		     (uintmax_t)FIELD(e, b, Elf64_Ehdr, e_machine), EM_BPF);
		return -1;
	}

	e->shoff = FIELD(e, b, Elf64_Ehdr, e_shoff);
	e->shnum = FIELD(e, b, Elf64_Ehdr, e_shnum);
	shstrndx = FIELD(e, b, Elf64_Ehdr, e_shstrndx);
	shentsize = FIELD(e, b, Elf64_Ehdr, e_shentsize);
	if (e->shoff == 0) {
		fail(e->path, "no section header table (e_shoff is 0)");
		return -1;
	}
	if (shentsize != sizeof(Elf64_Shdr)) {
		fail(e->path, "e_shentsize %ju, expected %zu",
		     (uintmax_t)shentsize, sizeof(Elf64_Shdr));
		return -1;
	}
	if (e->shoff > e->size || e->size - e->shoff < sizeof(Elf64_Shdr)) {
		fail(e->path, "truncated: section header table at %ju, file is %zu bytes",
		     (uintmax_t)e->shoff, e->size);
		return -1;
	}
	/* Extended numbering: the real values are kept in section 0. */
	if (e->shnum == 0)
		e->shnum = FIELD(e, shdr(e, 0), Elf64_Shdr, sh_size);
	if (shstrndx == SHN_XINDEX)
		shstrndx = FIELD(e, shdr(e, 0), Elf64_Shdr, sh_link);
	if (e->shnum == 0) {
		fail(e->path, "no sections (e_shnum is 0)");
		return -1;
	}
	if (e->shnum > (e->size - e->shoff) / sizeof(Elf64_Shdr)) {
		if (e->shnum > (UINT64_MAX - e->shoff) / sizeof(Elf64_Shdr)) {
			fail(e->path, "section count %ju is impossibly large",
			     (uintmax_t)e->shnum);
			return -1;
		}
		end = e->shoff + e->shnum * sizeof(Elf64_Shdr);
		fail(e->path, "truncated: section header table ends at %ju, file is %zu bytes",
		     (uintmax_t)end, e->size);
		return -1;
	}
	if (shstrndx == SHN_UNDEF || shstrndx >= e->shnum) {
		fail(e->path, "e_shstrndx %ju out of range (%ju sections)",
		     (uintmax_t)shstrndx, (uintmax_t)e->shnum);
		return -1;
	}
	if (FIELD(e, shdr(e, shstrndx), Elf64_Shdr, sh_type) != SHT_STRTAB) {
		fail(e->path, "section name table (section %ju) is not SHT_STRTAB",
		     (uintmax_t)shstrndx);
		return -1;
	}
	return get_sect(e, shstrndx, "section name table", &e->shstr);
}

/* Find the one SHT_SYMTAB and the one ".rodata"; check every section name. */
static int find_sections(const struct elf *e, uint64_t *symtab,
			 uint64_t *rodata)
{
	const unsigned char *sh;
	const char *name;
	uint64_t i;
	char what[48];

	*symtab = 0;
	*rodata = 0;
	for (i = 1; i < e->shnum; i++) {
		sh = shdr(e, i);
		snprintf(what, sizeof(what), "section %ju", (uintmax_t)i);
		name = get_str(e, &e->shstr, FIELD(e, sh, Elf64_Shdr, sh_name),
			       what);
		if (!name)
			return -1;
		if (FIELD(e, sh, Elf64_Shdr, sh_type) == SHT_SYMTAB) {
			if (*symtab) {
				fail(e->path, "more than one symbol table (sections %ju and %ju)",
				     (uintmax_t)*symtab, (uintmax_t)i);
				return -1;
			}
			*symtab = i;
		}
		if (!strcmp(name, ".rodata")) {
			if (*rodata) {
				fail(e->path, "more than one .rodata (sections %ju and %ju)",
				     (uintmax_t)*rodata, (uintmax_t)i);
				return -1;
			}
			*rodata = i;
		}
	}
	if (!*symtab) {
		fail(e->path, "no symbol table (SHT_SYMTAB section)");
		return -1;
	}
	if (!*rodata) {
		fail(e->path, "no .rodata section");
		return -1;
	}
	return 0;
}

/* Check everything and work out the file offset of each assignment. */
static int resolve(struct elf *e, struct assign *as, size_t n)
{
	struct sect symtab, strtab, rodata;
	const unsigned char *sh, *sym;
	uint64_t symtab_idx, rodata_idx, link, nsyms, i, shndx, value, size;
	const char *name, *where;
	uint64_t *found = NULL, *count = NULL;
	char what[48];
	size_t j, k;
	int ret = -1;

	if (find_sections(e, &symtab_idx, &rodata_idx))
		return -1;

	sh = shdr(e, symtab_idx);
	if (get_sect(e, symtab_idx, "symbol table", &symtab))
		return -1;
	if (FIELD(e, sh, Elf64_Shdr, sh_entsize) != sizeof(Elf64_Sym)) {
		fail(e->path, "symbol table sh_entsize %ju, expected %zu",
		     (uintmax_t)FIELD(e, sh, Elf64_Shdr, sh_entsize),
		     sizeof(Elf64_Sym));
		return -1;
	}
	if (symtab.size % sizeof(Elf64_Sym)) {
		fail(e->path, "symbol table size %ju is not a multiple of %zu",
		     (uintmax_t)symtab.size, sizeof(Elf64_Sym));
		return -1;
	}
	link = FIELD(e, sh, Elf64_Shdr, sh_link);
	if (link == SHN_UNDEF || link >= e->shnum ||
	    FIELD(e, shdr(e, link), Elf64_Shdr, sh_type) != SHT_STRTAB) {
		fail(e->path, "symbol table sh_link %ju is not a string table",
		     (uintmax_t)link);
		return -1;
	}
	if (get_sect(e, link, "symbol string table", &strtab))
		return -1;

	sh = shdr(e, rodata_idx);
	if (FIELD(e, sh, Elf64_Shdr, sh_type) != SHT_PROGBITS &&
	    FIELD(e, sh, Elf64_Shdr, sh_type) != SHT_NOBITS) {
		fail(e->path, ".rodata (section %ju) is not SHT_PROGBITS",
		     (uintmax_t)rodata_idx);
		return -1;
	}
	if (get_sect(e, rodata_idx, ".rodata", &rodata))
		return -1;

	found = calloc(n, sizeof(*found));
	count = calloc(n, sizeof(*count));
	if (!found || !count) {
		fail(e->path, "out of memory");
		goto out;
	}

	/* Every symbol: bpftool's linker leaves sh_info at 0. */
	nsyms = symtab.size / sizeof(Elf64_Sym);
	for (i = 0; i < nsyms; i++) {
		sym = e->buf + symtab.off + i * sizeof(Elf64_Sym);
		snprintf(what, sizeof(what), "symbol %ju", (uintmax_t)i);
		name = get_str(e, &strtab, FIELD(e, sym, Elf64_Sym, st_name),
			       what);
		if (!name)
			goto out;
		for (j = 0; j < n; j++) {
			if (strncmp(name, as[j].name, as[j].name_len) ||
			    name[as[j].name_len])
				continue;
			found[j] = i;
			count[j]++;
		}
	}

	for (j = 0; j < n; j++) {
		const char *nm = as[j].name;
		int len = (int)as[j].name_len;

		if (!count[j]) {
			fail(e->path, "no symbol '%.*s'", len, nm);
			goto out;
		}
		if (count[j] > 1) {
			fail(e->path, "symbol '%.*s' occurs %ju times in the symbol table",
			     len, nm, (uintmax_t)count[j]);
			goto out;
		}
		sym = e->buf + symtab.off + found[j] * sizeof(Elf64_Sym);
		shndx = FIELD(e, sym, Elf64_Sym, st_shndx);
		value = FIELD(e, sym, Elf64_Sym, st_value);
		size = FIELD(e, sym, Elf64_Sym, st_size);
		if (shndx != rodata_idx) {
			where = NULL;
			if (shndx != SHN_UNDEF && shndx < SHN_LORESERVE &&
			    shndx < e->shnum) {
				where = get_str(e, &e->shstr,
						FIELD(e, shdr(e, shndx),
						      Elf64_Shdr, sh_name),
						"section");
				if (!where)
					goto out;
			}
			if (where && printable(where))
				fail(e->path, "symbol '%.*s' is not in .rodata but in '%s'",
				     len, nm, where);
			else
				fail(e->path, "symbol '%.*s' is not in .rodata (section index %ju)",
				     len, nm, (uintmax_t)shndx);
			goto out;
		}
		if (size != VAR_SIZE) {
			fail(e->path, "symbol '%.*s' has size %ju, expected %d",
			     len, nm, (uintmax_t)size, VAR_SIZE);
			goto out;
		}
		if (value > rodata.size || rodata.size - value < VAR_SIZE) {
			fail(e->path, "symbol '%.*s' at offset %ju runs past the end of .rodata (%ju bytes)",
			     len, nm, (uintmax_t)value, (uintmax_t)rodata.size);
			goto out;
		}
		as[j].file_off = rodata.off + value;
		for (k = 0; k < j; k++) {
			if (as[k].file_off + VAR_SIZE <= as[j].file_off ||
			    as[j].file_off + VAR_SIZE <= as[k].file_off)
				continue;
			fail(e->path, "symbols '%.*s' and '%.*s' overlap in .rodata",
			     (int)as[k].name_len, as[k].name, len, nm);
			goto out;
		}
	}
	ret = 0;
out:
	free(found);
	free(count);
	return ret;
}

static int write_all(int fd, const unsigned char *buf, size_t size)
{
	ssize_t n;

	while (size) {
		n = write(fd, buf, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		size -= (size_t)n;
	}
	return 0;
}

/* Write buf to a temporary file next to path, then rename it over path. */
static int write_output(const char *path, const unsigned char *buf,
			size_t size)
{
	size_t len = strlen(path);
	char *tmp;
	int fd, ret = -1;

	tmp = malloc(len + sizeof(".XXXXXX"));
	if (!tmp) {
		fail(path, "out of memory");
		return -1;
	}
	memcpy(tmp, path, len);
	memcpy(tmp + len, ".XXXXXX", sizeof(".XXXXXX"));

	fd = mkstemp(tmp);
	if (fd < 0) {
		fail(path, "cannot create temporary file %s: %s", tmp,
		     strerror(errno));
		free(tmp);
		return -1;
	}
	if (write_all(fd, buf, size)) {
		fail(tmp, "write error: %s", strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0644)) {
		fail(tmp, "cannot chmod: %s", strerror(errno));
		goto out;
	}
	if (fsync(fd)) {
		fail(tmp, "fsync failed: %s", strerror(errno));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		fail(tmp, "close failed: %s", strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path)) {
		fail(path, "cannot rename %s to it: %s", tmp, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret)
		unlink(tmp);
	free(tmp);
	return ret;
}

int main(int argc, char **argv)
{
	struct elf e = { 0 };
	struct assign *as = NULL;
	size_t n, i, j;
	int ret = EXIT_USAGE;

	if (argc == 2 && (!strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help"))) {
		usage();
		return 0;
	}
	if (argc < 4) {
		fail(NULL, "expected INPUT OUTPUT NAME=VALUE..., got %d argument%s (see --help)",
		     argc - 1, argc == 2 ? "" : "s");
		return EXIT_USAGE;
	}
	if (argv[1][0] == '-' || argv[2][0] == '-') {
		fail(NULL, "unknown option '%s' (name files starting with '-' as ./-name)",
		     argv[1][0] == '-' ? argv[1] : argv[2]);
		return EXIT_USAGE;
	}
	if (!argv[1][0] || !argv[2][0]) {
		fail(NULL, "empty INPUT or OUTPUT path");
		return EXIT_USAGE;
	}

	n = (size_t)argc - 3;
	as = calloc(n, sizeof(*as));
	if (!as) {
		fail(NULL, "out of memory");
		ret = EXIT_BAD;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (parse_assign(argv[3 + i], &as[i]))
			goto out;
		for (j = 0; j < i; j++) {
			if (as[j].name_len != as[i].name_len ||
			    memcmp(as[j].name, as[i].name, as[i].name_len))
				continue;
			fail(NULL, "'%.*s' given more than once",
			     (int)as[i].name_len, as[i].name);
			goto out;
		}
	}

	ret = EXIT_BAD;
	e.path = argv[1];
	if (read_input(e.path, &e.buf, &e.size))
		goto out;
	if (check_ehdr(&e) || resolve(&e, as, n))
		goto out;
	for (i = 0; i < n; i++)
		wr32(&e, e.buf + as[i].file_off, as[i].value);
	if (write_output(argv[2], e.buf, e.size))
		goto out;
	ret = 0;
out:
	free(e.buf);
	free(as);
	return ret;
}
