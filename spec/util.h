/*
 * util.h - allocation, growable strings and an arena, shared by every module.
 *
 * nc_xmalloc() and friends never return NULL: allocation failure prints one
 * line and aborts (tmux xmalloc.c).  struct nc_buf is a growable string whose
 * buf is never NULL (git strbuf.h); initialise with NC_BUF_INIT and release
 * with nc_buf_release().  struct nc_arena hands out memory that is freed all
 * at once with nc_arena_release(); the spec model lives in one.
 */
#ifndef NC_UTIL_H
#define NC_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define NC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define NC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NC_PRINTF(f, a)
#endif

void *nc_xmalloc(size_t n);
void *nc_xcalloc(size_t nmemb, size_t size);
void *nc_xrealloc(void *p, size_t n);
void *nc_xreallocarray(void *p, size_t nmemb, size_t size);
char *nc_xstrdup(const char *s);
char *nc_xstrndup(const char *s, size_t n);
char *nc_xasprintf(const char *fmt, ...) NC_PRINTF(1, 2);
/* printf to f and flush, when f is not NULL (progress output that may be off) */
void nc_say(FILE *f, const char *fmt, ...) NC_PRINTF(2, 3);

/* Growable byte string; buf is always NUL-terminated and never NULL. */
struct nc_buf {
	char *buf;
	size_t len;
	size_t alloc;
};
extern char nc_buf_empty[];
#define NC_BUF_INIT { nc_buf_empty, 0, 0 }

void nc_buf_init(struct nc_buf *b);
void nc_buf_release(struct nc_buf *b);
void nc_buf_grow(struct nc_buf *b, size_t extra);
void nc_buf_add(struct nc_buf *b, const void *data, size_t len);
void nc_buf_adds(struct nc_buf *b, const char *s);
void nc_buf_addc(struct nc_buf *b, char c);
void nc_buf_addf(struct nc_buf *b, const char *fmt, ...) NC_PRINTF(2, 3);
void nc_buf_vaddf(struct nc_buf *b, const char *fmt, va_list ap) NC_PRINTF(2, 0);
void nc_buf_reset(struct nc_buf *b);
/* Hands the string to the caller (who frees it) and leaves b empty. */
char *nc_buf_detach(struct nc_buf *b, size_t *out_len);
/* Appends s as a JSON string literal, quotes included. */
void nc_buf_add_json_str(struct nc_buf *b, const char *s);
/* Length of the well-formed UTF-8 sequence at p, or 0. */
size_t nc_utf8_len(const unsigned char *p);

/* Arena: many small allocations freed together. */
struct nc_arena_block;
struct nc_arena {
	struct nc_arena_block *head;
	size_t used;     /* bytes used in head */
	size_t total;    /* bytes handed out, for statistics */
};
void *nc_arena_alloc(struct nc_arena *a, size_t n);   /* zeroed, 16-aligned */
char *nc_arena_strndup(struct nc_arena *a, const char *s, size_t n);
char *nc_arena_strdup(struct nc_arena *a, const char *s);
void nc_arena_release(struct nc_arena *a);

/* Edit distance, capped: returns max+1 as soon as the distance exceeds max. */
unsigned nc_edit_distance(const char *a, const char *b, unsigned max);

/* mkdir -p: creates path and its parents (mode 0755); 0, or -1 with errno set. */
int nc_mkdir_p(const char *path);
/*
 * mkdir -p with a mode for the directories it creates (e.g. 0700 for state
 * that is the owner's only); existing directories are left as they are.
 */
int nc_mkdir_p_mode(const char *path, unsigned mode);
/*
 * A copy of text (a URL, or a message quoting URLs) safe to show anywhere:
 * in every "scheme://userinfo@host" the password is replaced by "***"
 * ("https://user:pass@h" -> "https://user:***@h"); for http(s), a userinfo
 * without a password (often a token: "https://TOKEN@h") becomes "***".
 * Caller frees.
 */
char *nc_url_redact(const char *text);
/* A copy of untrusted text (names from libvirt) fit for a terminal: control
 * characters and backslashes as \xHH escapes.  Caller frees. */
char *nc_ctl_escape(const char *s);
/* t as UTC "2026-12-07T12:00:00Z" (RFC 3339) into buf (at least 21 bytes). */
void nc_time_iso(char *buf, size_t len, int64_t t);
/* Writes all of data, retrying short writes and EINTR; 0, or -1 with errno set. */
int nc_write_all(int fd, const void *data, size_t len);
/*
 * Replaces path with data, atomically and durably: writes PATH.tmp-PID
 * (O_NOFOLLOW, the given mode whatever the umask), fsyncs it, renames it over
 * path and fsyncs the directory.  -1 with errno set (and no temporary file
 * left) on failure; the old file is then untouched.
 */
int nc_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* Reads a whole file; -1 with errno set on failure, -2 when larger than limit. */
int nc_read_file(const char *path, size_t limit, char **out, size_t *out_len);

/*
 * Secrets (key, password and token files): a file its group or others may
 * access is refused, as ssh refuses such a private key.  nc_secret_check()
 * looks at path's mode; nc_read_secret_file() reads like nc_read_file() and
 * checks the mode of the file it opened.  Both return -3 for a file with
 * group/other permission bits, with its mode in *bad_mode; nc_secret_msg()
 * says so, naming the file and the chmod to run.  Both return -4 for
 * anything but a regular file (a directory, a FIFO, a device: opening a
 * FIFO would wait for a writer forever), and nc_read_secret_file opens
 * without blocking and checks the file it opened.
 */
#define NC_SECRET_MODE_BAD (-3)
#define NC_SECRET_NOT_FILE (-4)
int nc_secret_check(const char *path, unsigned *bad_mode);
int nc_read_secret_file(const char *path, size_t limit, char **out, size_t *out_len, unsigned *bad_mode);
/* "WHAT PATH is accessible by group or others (mode 0644): run chmod 600 PATH"; caller frees. */
char *nc_secret_msg(const char *what, const char *path, unsigned mode);

#endif
