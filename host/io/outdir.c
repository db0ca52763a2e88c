/* outdir.c: result directories (what `run` and `me` write into).
 *
 * A result is written into DIR.tmp-PID beside DIR and renamed into place at the end, so a crash
 * never leaves something that looks like a finished result. This file knows nothing of what goes
 * inside the directory.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npgrow/config.h"
#include "npgrow/outdir.h"

static int remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb))
        return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return -1;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            remove_tree(sub);
        }
        closedir(d);
        return rmdir(path);
    }
    return unlink(path);
}

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *de;
    int empty = 1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; ++p)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0777) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0777) && errno != EEXIST ? -1 : 0;
}

int npg_outdir_begin(const char *outdir, int force, char *tmpdir, size_t tmplen, char *err,
                     size_t errlen)
{
    struct stat sb;
    if (!stat(outdir, &sb)) {
        if (!S_ISDIR(sb.st_mode)) {
            snprintf(err, errlen, "%s: exists and is not a directory", outdir);
            return NPG_EXIT_USAGE;
        }
        if (!dir_is_empty(outdir) && !force) {
            snprintf(err, errlen, "%s: directory is not empty (use --force to replace it)", outdir);
            return NPG_EXIT_USAGE;
        }
    }
    snprintf(tmpdir, tmplen, "%s.tmp-%ld", outdir, (long)getpid());
    remove_tree(tmpdir);
    if (mkdir_p(tmpdir)) {
        snprintf(err, errlen, "%s: cannot create: %s", tmpdir, strerror(errno));
        return 1;
    }
    return 0;
}

int npg_outdir_commit(const char *tmpdir, const char *outdir, char *err, size_t errlen)
{
    if (remove_tree(outdir)) {
        snprintf(err, errlen, "%s: cannot replace: %s", outdir, strerror(errno));
        return 1;
    }
    if (rename(tmpdir, outdir)) {
        snprintf(err, errlen, "rename %s -> %s: %s", tmpdir, outdir, strerror(errno));
        return 1;
    }
    return 0;
}

void npg_outdir_abandon(const char *tmpdir)
{
    remove_tree(tmpdir);
}
