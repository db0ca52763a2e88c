/* npgrow/outdir.h: result directories, shared by every command that writes one (run, me).
 *
 * A result is written into a temporary sibling DIR.tmp-PID and renamed into place at the end, so
 * a crash never leaves something that looks like a finished result. Implemented in
 * host/io/outdir.c; knows nothing of the files inside.
 */
#ifndef NPGROW_OUTDIR_H
#define NPGROW_OUTDIR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Open DIR.tmp-PID beside outdir after checking outdir is absent or empty (or force); tmpdir
 * receives its path. Returns 0, NPG_EXIT_USAGE (2) for a refused target, or 1. */
int npg_outdir_begin(const char *outdir, int force, char *tmpdir, size_t tmplen, char *err,
                     size_t errlen);

/* Rename tmpdir into place as outdir (replacing what begin allowed to be replaced). */
int npg_outdir_commit(const char *tmpdir, const char *outdir, char *err, size_t errlen);

/* Remove tmpdir and everything in it (a failed run leaves nothing behind). */
void npg_outdir_abandon(const char *tmpdir);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_OUTDIR_H */
