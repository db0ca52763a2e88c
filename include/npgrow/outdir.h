/* npgrow/outdir.h: result directories, shared by every command that writes one (run, me, ...).
 *
 * A result is written into a temporary sibling DIR.tmp-PID and renamed into place at the end, so
 * a crash never leaves something that looks like a finished result. The rules that keep a
 * user's files safe (host/io/outdir.c):
 *   - paths are normalized ("out/", "out/." and "out//" are "out"); "" is a usage error;
 *   - ".", its ancestors, "/" and $HOME are never result directories;
 *   - an existing non-empty DIR is replaced only with force, and only when npgrow wrote it
 *     (run.yaml starting "# npgrow", nothing but npgrow's file names); never otherwise;
 *   - DIR.npgrow-lock beside DIR is held (flock) from open to commit: a second process writing
 *     the same DIR fails at once; the kernel drops the lock of a killed process; an existing file
 *     of that name that is not an npgrow lock (or a link) is refused, never truncated;
 *   - a target that is a symbolic link or a mount point is refused; a leading '~' too;
 *   - the commit swaps the new result in atomically (renameat2 RENAME_EXCHANGE where the file
 *     system has it) with SIGINT/SIGTERM blocked, so DIR is never missing;
 *   - the parent must be writable, checked before any work starts (usage error 2);
 *   - leftovers DIR.tmp-PID (carrying npgrow's marker file, whose process no longer exists and
 *     whose lock nobody holds) are reported; `npgrow clean` removes them.
 * Knows nothing of the files inside.
 */
#ifndef NPGROW_OUTDIR_H
#define NPGROW_OUTDIR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npg_outdir {
    char path[3072];   /* normalized target */
    char tmp[3100];    /* DIR.tmp-PID, where the result is written */
    int lock_fd;       /* flock'ed DIR.npgrow-lock, or -1 */
    int force;         /* replace an earlier npgrow result at commit */
    char locked[3072]; /* the target whose DIR.npgrow-lock is held */
    int open;
} npg_outdir;

/* Check the target, take the lock, create DIR.tmp-PID. Returns 0, or NPG_EXIT_USAGE (2) with a
 * message naming the path and what to do. */
int npg_outdir_open(npg_outdir *od, const char *outdir, int force, char *err, size_t errlen);
/* Move the result into place (an earlier npgrow result is moved aside first and removed only
 * after the rename succeeded). On failure the new result stays in od->tmp, and err says so. */
int npg_outdir_commit_dir(npg_outdir *od, char *err, size_t errlen);
/* The same for a result that was stopped (status: interrupted): when DIR already holds an
 * earlier result, the stopped one is committed as DIR.interrupted instead (od->path says where),
 * so a stop never costs a complete result. */
int npg_outdir_commit_stopped(npg_outdir *od, char *err, size_t errlen);

/* Remove the temporary directory (a failed run leaves nothing behind) and drop the lock. */
void npg_outdir_discard(npg_outdir *od);

/* The same over path strings, for one open result directory per process at a time. */
int npg_outdir_begin(const char *outdir, int force, char *tmpdir, size_t tmplen, char *err,
                     size_t errlen);
int npg_outdir_commit(const char *tmpdir, const char *outdir, char *err, size_t errlen);
/* npg_outdir_commit_stopped for the open path-string result directory. */
int npg_outdir_commit_stopped_tmp(const char *tmpdir, char *err, size_t errlen);
void npg_outdir_abandon(const char *tmpdir);

/* The same rules for a directory that holds several results (validate's DIR/run, DIR/me and
 * DIR/compare.csv): normalized into out; refused (NPG_EXIT_USAGE) when it is ., .., /, $HOME, a
 * link or mount point, holds anything but npgrow's results, or holds them without force. */
int npg_outdir_check_container(const char *dir, int force, char *out, size_t outlen, char *err,
                               size_t errlen);

/* "out/" -> "out", "a//b/./" -> "a/b"; "" is NPG_EXIT_USAGE. */
int npg_outdir_normalize(const char *in, char *out, size_t len, char *err, size_t errlen);

/* Leftover NAME.tmp-PID directories in dir (npgrow's marker inside, no live lock) whose process is
 * gone (only those of NAME = only_base when given): calls fn for each, returns how many. */
typedef void (*npg_outdir_stale_fn)(const char *path, long pid, void *ctx);
int npg_outdir_find_stale(const char *dir, const char *only_base, npg_outdir_stale_fn fn,
                          void *ctx);
/* Remove those leftovers in dir (only directories holding nothing but npgrow's files); prints
 * each removal. Returns 0, or NPG_EXIT_USAGE when dir is not a directory. */
int npg_outdir_clean(const char *dir, int *removed);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_OUTDIR_H */
