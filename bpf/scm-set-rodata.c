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
 * libelf reads INPUT, which must be an ELF64 relocatable EM_BPF object of
 * either byte order, with its section header table, its section name table,
 * one SHT_SYMTAB (sh_entsize 24, sh_link to an SHT_STRTAB) and one
 * SHT_PROGBITS ".rodata" inside the file.  Every .symtab entry is scanned
 * ("bpftool gen object" leaves sh_info at 0): each NAME must occur exactly
 * once, in .rodata, with st_size 4 and st_value + 4 within the section, and
 * no two NAMEs may overlap.  Then the 4 bytes at file offset
 * (.rodata sh_offset + st_value) get VALUE in the object's byte order;
 * nothing else changes, and nothing is written unless every check passed.
 *
 * INPUT (at most 64 MiB) is read into memory and never modified.  OUTPUT is
 * written to "OUTPUT.XXXXXX", fsync()ed, made mode 0644 and renamed over
 * OUTPUT: it is the complete new object or untouched.  INPUT and OUTPUT may
 * be the same file.  VALUE is decimal, or hexadecimal with 0x/0X, and fits
 * in 32 bits; leading zeros do not make it octal.
 *
 * Exit status: 0 success; 1 INPUT is not a valid or suitable object, or an
 * I/O error; 2 usage error (arguments, NAME=VALUE syntax, a bad VALUE, the
 * same NAME twice).
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

#define PROG		"scm-set-rodata"
#define MAX_FILE_SIZE	(64u * 1024 * 1024)
#define VAR_SIZE	4	/* every variable patched is a __u32 */
#define EXIT_BAD	1
#define EXIT_USAGE	2

/* One NAME=VALUE of the command line, its symbol, where VALUE goes. */
struct assign {
	const char *name;
	int len;
	uint32_t value;
	size_t count;
	GElf_Sym sym;
	uint64_t off;
};

/* INPUT's bytes and libelf's view of them. */
struct obj {
	const char *path;
	unsigned char *buf;
	size_t size;
	Elf *elf;
	size_t shnum, shstrndx;
	GElf_Shdr shstr;
};

/* Print "scm-set-rodata: [FILE: ]MESSAGE" and return -1. */
__attribute__((format(printf, 2, 3)))
static int fail(const char *file, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	if (file)
		fprintf(stderr, "%s: ", file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int parse_assign(const char *arg, struct assign *a)
{
	const char *eq = strchr(arg, '='), *s;
	uint64_t v = 0;
	int base = 10, d;

	if (!eq)
		return fail(NULL, "'%s': expected NAME=VALUE", arg);
	if (eq == arg)
		return fail(NULL, "'%s': empty NAME", arg);
	s = eq + 1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (d = !*s; !d && *s; s++) {
		if (*s >= '0' && *s <= '9')
			v = v * base + (*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			v = v * base + (*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			v = v * base + (*s - 'A' + 10);
		else
			d = 1;
		d |= v > UINT32_MAX;
	}
	if (d)
		return fail(NULL, "'%s': VALUE must be decimal or 0x-hexadecimal, 0 to 0xffffffff",
			    arg);
	a->name = arg;
	a->len = (int)(eq - arg);
	a->value = (uint32_t)v;
	return 0;
}

static int read_input(struct obj *o)
{
	struct stat st;
	ssize_t n = 1;
	int fd, ret = -1;

	fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(o->path, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st))
		fail(o->path, "cannot stat: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		fail(o->path, "not a regular file");
	else if (st.st_size > MAX_FILE_SIZE)
		fail(o->path, "file is %jd bytes, more than the limit of %u",
		     (intmax_t)st.st_size, MAX_FILE_SIZE);
	else if (!(o->buf = malloc((size_t)st.st_size + 1)))
		fail(o->path, "out of memory");
	else
		ret = 0;
	/* A file that shrinks under us is taken as it is now. */
	while (!ret && n > 0 && o->size < (size_t)st.st_size) {
		n = read(fd, o->buf + o->size, (size_t)st.st_size - o->size);
		if (n > 0)
			o->size += (size_t)n;
		else if (n < 0 && errno == EINTR)
			n = 1;
		else if (n < 0)
			ret = fail(o->path, "read error: %s", strerror(errno));
	}
	close(fd);
	return ret;
}

/* The header of section idx, whose bytes (unless SHT_NOBITS) lie in the file. */
static int get_sect(const struct obj *o, size_t idx, const char *what,
		    GElf_Shdr *sh)
{
	if (!gelf_getshdr(elf_getscn(o->elf, idx), sh))
		return fail(o->path, "%s (section %zu): %s", what, idx, elf_errmsg(-1));
	if (sh->sh_type == SHT_NOBITS)
		return fail(o->path, "%s (section %zu) is SHT_NOBITS, has no bytes in the file",
			    what, idx);
	if (sh->sh_offset > o->size || sh->sh_size > o->size - sh->sh_offset)
		return fail(o->path, "truncated: %s (section %zu) at offset %ju, size %ju, file is %zu bytes",
			    what, idx, (uintmax_t)sh->sh_offset,
			    (uintmax_t)sh->sh_size, o->size);
	return 0;
}

/* The string at offset off of string table strndx (header sh), or NULL. */
static const char *get_str(const struct obj *o, size_t strndx,
			   const GElf_Shdr *sh, size_t off, const char *what)
{
	const char *s = NULL;

	if (off >= sh->sh_size)
		fail(o->path, "%s: name offset %zu outside string table (section %zu, %ju bytes)",
		     what, off, strndx, (uintmax_t)sh->sh_size);
	else if (!(s = elf_strptr(o->elf, strndx, off)))
		fail(o->path, "%s: name at offset %zu not NUL-terminated in string table (section %zu)",
		     what, off, strndx);
	return s;
}

/*
 * Identification and ELF header.  The section header table's place is
 * checked here, before libelf is asked for sections: libelf treats a
 * truncated table as no table, which would hide why.
 */
static int open_elf(struct obj *o)
{
	const unsigned char *id = o->buf;
	Elf64_Shdr sh0;
	Elf_Data d = { .d_buf = &sh0, .d_type = ELF_T_SHDR,
		       .d_size = sizeof(sh0), .d_version = EV_CURRENT };
	GElf_Ehdr eh;
	uint64_t n;

	if (o->size < SELFMAG || memcmp(id, ELFMAG, SELFMAG))
		return fail(o->path, "not an ELF file (%s)", o->size ? "bad magic" : "empty");
	if (o->size < EI_NIDENT)
		return fail(o->path, "truncated: ELF identification ends at %d, file is %zu bytes",
			    EI_NIDENT, o->size);
	if (id[EI_CLASS] == ELFCLASS32)
		return fail(o->path, "ELFCLASS32 object, expected ELFCLASS64");
	if (id[EI_CLASS] != ELFCLASS64)
		return fail(o->path, "bad EI_CLASS %u, expected ELFCLASS64", id[EI_CLASS]);
	if (id[EI_DATA] != ELFDATA2LSB && id[EI_DATA] != ELFDATA2MSB)
		return fail(o->path, "bad EI_DATA %u, expected ELFDATA2LSB or ELFDATA2MSB",
			    id[EI_DATA]);
	if (id[EI_VERSION] != EV_CURRENT)
		return fail(o->path, "bad EI_VERSION %u", id[EI_VERSION]);
	if (o->size < sizeof(Elf64_Ehdr))
		return fail(o->path, "truncated: ELF header ends at %zu, file is %zu bytes",
			    sizeof(Elf64_Ehdr), o->size);
	if (elf_version(EV_CURRENT) == EV_NONE ||
	    !(o->elf = elf_memory((char *)o->buf, o->size)) || !gelf_getehdr(o->elf, &eh))
		return fail(o->path, "libelf: %s", elf_errmsg(-1));
	if (eh.e_version != EV_CURRENT)
		return fail(o->path, "bad e_version %u", eh.e_version);
	if (eh.e_type != ET_REL)
		return fail(o->path, "e_type %u, expected ET_REL (a relocatable BPF object)",
			    eh.e_type);
	if (eh.e_machine != EM_BPF)
		return fail(o->path, "e_machine %u, expected EM_BPF (%d)", eh.e_machine, EM_BPF);
	if (eh.e_shoff == 0)
		return fail(o->path, "no section header table (e_shoff is 0)");
	if (eh.e_shentsize != sizeof(Elf64_Shdr))
		return fail(o->path, "e_shentsize %u, expected %zu", eh.e_shentsize,
			    sizeof(Elf64_Shdr));
	if (eh.e_shoff > o->size || o->size - eh.e_shoff < sizeof(Elf64_Shdr))
		return fail(o->path, "truncated: section header table at %ju, file is %zu bytes",
			    (uintmax_t)eh.e_shoff, o->size);
	/* Extended numbering keeps the real values in section 0. */
	memcpy(&sh0, o->buf + eh.e_shoff, sizeof(sh0));
	if (!gelf_xlatetom(o->elf, &d, &d, id[EI_DATA]))
		return fail(o->path, "libelf: %s", elf_errmsg(-1));
	n = eh.e_shnum ? eh.e_shnum : sh0.sh_size;
	o->shstrndx = eh.e_shstrndx == SHN_XINDEX ? sh0.sh_link : eh.e_shstrndx;
	if (n == 0)
		return fail(o->path, "no sections (e_shnum is 0)");
	if (n > (UINT64_MAX - eh.e_shoff) / sizeof(Elf64_Shdr))
		return fail(o->path, "section count %ju is impossibly large", (uintmax_t)n);
	if (n > (o->size - eh.e_shoff) / sizeof(Elf64_Shdr))
		return fail(o->path, "truncated: section header table ends at %ju, file is %zu bytes",
			    (uintmax_t)(eh.e_shoff + n * sizeof(Elf64_Shdr)), o->size);
	o->shnum = n;
	if (o->shstrndx == SHN_UNDEF || o->shstrndx >= n)
		return fail(o->path, "e_shstrndx %zu out of range (%zu sections)",
			    o->shstrndx, o->shnum);
	if (!gelf_getshdr(elf_getscn(o->elf, o->shstrndx), &o->shstr) ||
	    o->shstr.sh_type != SHT_STRTAB)
		return fail(o->path, "section name table (section %zu) is not SHT_STRTAB",
			    o->shstrndx);
	return get_sect(o, o->shstrndx, "section name table", &o->shstr);
}

/* Find the one SHT_SYMTAB and the one ".rodata". */
static int find_sections(const struct obj *o, size_t *symtab, size_t *rodata)
{
	const char *name;
	char what[48];
	GElf_Shdr sh;
	size_t i;

	*symtab = *rodata = 0;
	for (i = 1; i < o->shnum; i++) {
		snprintf(what, sizeof(what), "section %zu", i);
		if (!gelf_getshdr(elf_getscn(o->elf, i), &sh))
			return fail(o->path, "%s: %s", what, elf_errmsg(-1));
		name = get_str(o, o->shstrndx, &o->shstr, sh.sh_name, what);
		if (!name)
			return -1;
		if (sh.sh_type == SHT_SYMTAB && *symtab)
			return fail(o->path, "more than one symbol table (sections %zu and %zu)",
				    *symtab, i);
		if (!strcmp(name, ".rodata") && *rodata)
			return fail(o->path, "more than one .rodata (sections %zu and %zu)",
				    *rodata, i);
		if (sh.sh_type == SHT_SYMTAB)
			*symtab = i;
		if (!strcmp(name, ".rodata"))
			*rodata = i;
	}
	if (!*symtab)
		return fail(o->path, "no symbol table (SHT_SYMTAB section)");
	if (!*rodata)
		return fail(o->path, "no .rodata section");
	return 0;
}

/* Check the symbol of assignment a and set where its value goes. */
static int place(const struct obj *o, struct assign *a, size_t rodata,
		 const GElf_Shdr *ro)
{
	const GElf_Sym *sym = &a->sym;
	const char *where = NULL;
	GElf_Shdr sh;

	if (sym->st_shndx != rodata) {
		if (sym->st_shndx != SHN_UNDEF && sym->st_shndx < SHN_LORESERVE &&
		    sym->st_shndx < o->shnum &&
		    gelf_getshdr(elf_getscn(o->elf, sym->st_shndx), &sh))
			where = get_str(o, o->shstrndx, &o->shstr, sh.sh_name, "section");
		/* A name that is not safe to print on one line is not printed. */
		for (size_t i = 0; where && where[i]; i++)
			if (where[i] < 0x20 || where[i] > 0x7e || i >= 64)
				where = NULL;
		if (where)
			return fail(o->path, "symbol '%.*s' is not in .rodata but in '%s'",
				    a->len, a->name, where);
		return fail(o->path, "symbol '%.*s' is not in .rodata (section index %u)",
			    a->len, a->name, sym->st_shndx);
	}
	if (sym->st_size != VAR_SIZE)
		return fail(o->path, "symbol '%.*s' has size %ju, expected %d",
			    a->len, a->name, (uintmax_t)sym->st_size, VAR_SIZE);
	if (sym->st_value > ro->sh_size || ro->sh_size - sym->st_value < VAR_SIZE)
		return fail(o->path, "symbol '%.*s' at offset %ju runs past the end of .rodata (%ju bytes)",
			    a->len, a->name, (uintmax_t)sym->st_value,
			    (uintmax_t)ro->sh_size);
	a->off = ro->sh_offset + sym->st_value;
	return 0;
}

/* Check everything and work out the file offset of each assignment. */
static int resolve(const struct obj *o, struct assign *as, size_t n)
{
	GElf_Shdr symsh, strsh, ro;
	size_t symtab, rodata, i, j, k;
	GElf_Sym sym;
	Elf_Data *syms;
	const char *name;
	char what[48];

	if (find_sections(o, &symtab, &rodata) ||
	    get_sect(o, symtab, "symbol table", &symsh))
		return -1;
	if (symsh.sh_entsize != sizeof(Elf64_Sym))
		return fail(o->path, "symbol table sh_entsize %ju, expected %zu",
			    (uintmax_t)symsh.sh_entsize, sizeof(Elf64_Sym));
	if (symsh.sh_size % sizeof(Elf64_Sym))
		return fail(o->path, "symbol table size %ju is not a multiple of %zu",
			    (uintmax_t)symsh.sh_size, sizeof(Elf64_Sym));
	if (symsh.sh_link == SHN_UNDEF || symsh.sh_link >= o->shnum ||
	    !gelf_getshdr(elf_getscn(o->elf, symsh.sh_link), &strsh) ||
	    strsh.sh_type != SHT_STRTAB)
		return fail(o->path, "symbol table sh_link %u is not a string table",
			    symsh.sh_link);
	if (get_sect(o, symsh.sh_link, "symbol string table", &strsh) ||
	    !gelf_getshdr(elf_getscn(o->elf, rodata), &ro))
		return -1;
	if (ro.sh_type != SHT_PROGBITS && ro.sh_type != SHT_NOBITS)
		return fail(o->path, ".rodata (section %zu) is not SHT_PROGBITS", rodata);
	if (get_sect(o, rodata, ".rodata", &ro))
		return -1;
	syms = elf_getdata(elf_getscn(o->elf, symtab), NULL);
	if (!syms)
		return fail(o->path, "symbol table: %s", elf_errmsg(-1));

	/* Every symbol: bpftool's linker leaves sh_info at 0. */
	for (i = 0; i < symsh.sh_size / sizeof(Elf64_Sym); i++) {
		snprintf(what, sizeof(what), "symbol %zu", i);
		if (!gelf_getsym(syms, (int)i, &sym))
			return fail(o->path, "%s: %s", what, elf_errmsg(-1));
		name = get_str(o, symsh.sh_link, &strsh, sym.st_name, what);
		if (!name)
			return -1;
		for (j = 0; j < n; j++) {
			if (strncmp(name, as[j].name, as[j].len) || name[as[j].len])
				continue;
			as[j].sym = sym;
			as[j].count++;
		}
	}
	for (j = 0; j < n; j++) {
		if (as[j].count == 0)
			return fail(o->path, "no symbol '%.*s'", as[j].len, as[j].name);
		if (as[j].count > 1)
			return fail(o->path, "symbol '%.*s' occurs %zu times in the symbol table",
				    as[j].len, as[j].name, as[j].count);
		if (place(o, &as[j], rodata, &ro))
			return -1;
		for (k = 0; k < j; k++) {
			if (as[k].off + VAR_SIZE <= as[j].off ||
			    as[j].off + VAR_SIZE <= as[k].off)
				continue;
			return fail(o->path, "symbols '%.*s' and '%.*s' overlap in .rodata",
				    as[k].len, as[k].name, as[j].len, as[j].name);
		}
	}
	return 0;
}

/* Write buf to a temporary file next to path, then rename it over path. */
static int write_output(const char *path, const unsigned char *buf, size_t size)
{
	size_t len = strlen(path);
	char *tmp = malloc(len + sizeof(".XXXXXX"));
	int fd, ret = -1;
	ssize_t n;

	if (!tmp)
		return fail(path, "out of memory");
	memcpy(tmp, path, len);
	memcpy(tmp + len, ".XXXXXX", sizeof(".XXXXXX"));
	fd = mkstemp(tmp);
	if (fd < 0) {
		fail(path, "cannot create temporary file %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	for (n = 0; size && n >= 0;) {
		n = write(fd, buf, size);
		if (n > 0) {
			buf += n;
			size -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			n = 0;
		}
	}
	if (n < 0)
		fail(tmp, "write error: %s", strerror(errno));
	else if (fchmod(fd, 0644))
		fail(tmp, "cannot chmod: %s", strerror(errno));
	else if (fsync(fd))
		fail(tmp, "fsync failed: %s", strerror(errno));
	else
		ret = 0;
	if (close(fd) && !ret)
		ret = fail(tmp, "close failed: %s", strerror(errno));
	if (!ret && rename(tmp, path))
		ret = fail(path, "cannot rename %s to it: %s", tmp, strerror(errno));
	if (ret)
		unlink(tmp);
	free(tmp);
	return ret;
}

int main(int argc, char **argv)
{
	struct obj o = { .path = argv[1] };
	struct assign *as = NULL;
	int i, j, n = argc - 3, ret = EXIT_USAGE;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: " PROG " INPUT OUTPUT NAME=VALUE [NAME=VALUE ...]\n"
		       "       " PROG " -h | --help\n\n"
		       "Copy the BPF ELF object INPUT to OUTPUT, writing each 32-bit VALUE into\n"
		       "the .rodata variable NAME (a 4-byte symbol defined in .rodata), in the\n"
		       "object's byte order.  OUTPUT is replaced atomically and only if every\n"
		       "check passes; INPUT is never modified and may be the same as OUTPUT.\n\n"
		       "VALUE: decimal, or hexadecimal with a 0x or 0X prefix, 0 to 0xffffffff.\n\n"
		       "Exit status: 0 success; 1 INPUT is not a valid or suitable object, or an\n"
		       "I/O error; 2 usage error (arguments, NAME=VALUE syntax, VALUE, a NAME\n"
		       "given twice).\n");
		return 0;
	}
	if (argc < 4)
		return fail(NULL, "expected INPUT OUTPUT NAME=VALUE..., got %d argument%s (see --help)",
			    argc - 1, argc == 2 ? "" : "s"), EXIT_USAGE;
	if (argv[1][0] == '-' || argv[2][0] == '-')
		return fail(NULL, "unknown option '%s' (name files starting with '-' as ./-name)",
			    argv[1][0] == '-' ? argv[1] : argv[2]), EXIT_USAGE;
	if (!argv[1][0] || !argv[2][0])
		return fail(NULL, "empty INPUT or OUTPUT path"), EXIT_USAGE;

	as = calloc((size_t)n, sizeof(*as));
	if (!as)
		return fail(NULL, "out of memory"), EXIT_BAD;
	for (i = 0; i < n; i++) {
		if (parse_assign(argv[3 + i], &as[i]))
			goto out;
		for (j = 0; j < i; j++) {
			if (as[j].len != as[i].len || memcmp(as[j].name, as[i].name, as[i].len))
				continue;
			fail(NULL, "'%.*s' given more than once", as[i].len, as[i].name);
			goto out;
		}
	}
	ret = EXIT_BAD;
	if (read_input(&o) || open_elf(&o) || resolve(&o, as, (size_t)n))
		goto out;
	/* libelf is done with the bytes before any of them changes. */
	elf_end(o.elf);
	o.elf = NULL;
	for (i = 0; i < n; i++)
		for (j = 0; j < VAR_SIZE; j++)
			o.buf[as[i].off + (o.buf[EI_DATA] == ELFDATA2MSB ? 3 - j : j)] =
				(unsigned char)(as[i].value >> (8 * j));
	if (!write_output(argv[2], o.buf, o.size))
		ret = 0;
out:
	elf_end(o.elf);
	free(o.buf);
	free(as);
	return ret;
}
