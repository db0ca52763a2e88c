/* outdir.c: result directories (what `run` and `me` write into), and the rules that keep a
 * user's files safe.
 *
 * A result is written into DIR.tmp-PID beside DIR and renamed into place at the end, so a crash
 * never leaves something that looks like a finished result. While it is written, DIR.lock beside
 * DIR is held with flock(2) (released by the kernel if the process dies), so two processes
 * cannot write the same result. --force replaces only a directory npgrow wrote: one whose
 * run.yaml starts with "# npgrow" and which holds nothing but npgrow's own files. The current
 * directory, its ancestors, / and $HOME are never result directories. This file knows nothing of
 * what goes inside the directory.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* flock */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "npgrow/outdir.h"
#include "npgrow/status.h"

/* Top-level names npgrow writes into a result directory (any command). A directory holding
 * anything else is not npgrow's to replace. */
static const char *const k_result_files[] = {
    "run.yaml",         "moments.csv", "histogram.csv",  "growth_rate.csv",
    "trajectories.csv", "run.h5",      "compare.csv",    "coalescence.csv",
    "moments_ci.csv",   "pair.csv",    "prediction.csv", "summary.csv",
    "schedule.yaml",    NULL};
/* Subdirectories npgrow writes (figures/, and validate's run/ and me/). */
static const char *const k_result_dirs[] = {"figures", "run", "me", NULL};

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

static int in_list(const char *name, const char *const *list)
{
    for (; *list; ++list)
        if (!strcmp(name, *list))
            return 1;
    return 0;
}

int npg_outdir_normalize(const char *in, char *out, size_t len, char *err, size_t errlen)
{
    if (!in || !*in) {
        snprintf(err, errlen, "-o \"\": an empty path: name a result directory");
        return NPG_EXIT_USAGE;
    }
    if (strlen(in) >= len || strlen(in) >= 3000) {
        snprintf(err, errlen, "-o: path too long (at most %zu characters)",
                 (len < 3000 ? len : 3000) - 1);
        return NPG_EXIT_USAGE;
    }
    /* Collapse "//" and "/./", drop trailing '/' and "/.": "out/" and "out/." are "out". */
    size_t k = 0;
    int abs = in[0] == '/';
    if (abs)
        out[k++] = '/';
    const char *p = in;
    while (*p) {
        while (*p == '/')
            ++p;
        if (!*p)
            break;
        const char *q = p;
        while (*q && *q != '/')
            ++q;
        size_t seg = (size_t)(q - p);
        if (!(seg == 1 && p[0] == '.')) {
            if (k && out[k - 1] != '/')
                out[k++] = '/';
            memcpy(out + k, p, seg);
            k += seg;
        }
        p = q;
    }
    if (k == 0)
        out[k++] = '.';
    out[k] = '\0';
    return 0;
}

/* Is `path` (existing) the current directory, one of its ancestors, / or $HOME? */
static const char *forbidden_reason(const char *path)
{
    char *rp = realpath(path, NULL);
    if (!rp)
        return NULL;
    const char *why = NULL;
    char cwd[PATH_MAX];
    const char *home = getenv("HOME");
    char *rhome = home && *home ? realpath(home, NULL) : NULL;
    if (!strcmp(rp, "/"))
        why = "the root directory";
    else if (rhome && !strcmp(rp, rhome))
        why = "your home directory";
    else if (getcwd(cwd, sizeof cwd)) {
        size_t l = strlen(rp);
        if (!strcmp(rp, cwd))
            why = "the current directory";
        else if (!strncmp(cwd, rp, l) && cwd[l] == '/')
            why = "a parent of the current directory";
    }
    free(rhome);
    free(rp);
    return why;
}

/* 1 if dir is an npgrow result (run.yaml starting "# npgrow", only npgrow's names), 0 if it
 * holds anything else; *foreign gets the first foreign name. */
static int is_npgrow_result(const char *dir, char *foreign, size_t flen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    FILE *f = fopen(path, "r");
    char head[16] = "";
    if (f) {
        if (!fgets(head, sizeof head, f))
            head[0] = '\0';
        fclose(f);
    }
    int marked = !strncmp(head, "# npgrow", 8);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int ok = 1;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, n);
        if (lstat(path, &sb)) {
            ok = 0;
        } else if (S_ISREG(sb.st_mode)) {
            ok = in_list(n, k_result_files);
        } else if (S_ISDIR(sb.st_mode)) {
            ok = in_list(n, k_result_dirs);
        } else {
            ok = 0;
        }
        if (!ok) {
            snprintf(foreign, flen, "%s", n);
            break;
        }
    }
    closedir(d);
    if (ok && !marked)
        snprintf(foreign, flen, "run.yaml (missing, or not written by npgrow)");
    return ok && marked;
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

/* May `outdir` (normalized) be written, replacing what is there under `force`? */
static int check_target(const char *outdir, int force, char *err, size_t errlen)
{
    const char *why = forbidden_reason(outdir);
    if (why) {
        snprintf(err, errlen,
                 "-o %s: is %s, which is never a result directory (name a new subdirectory, "
                 "e.g. -o runs/NAME)",
                 outdir, why);
        return NPG_EXIT_USAGE;
    }
    struct stat sb;
    if (stat(outdir, &sb)) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "-o %s: %s", outdir, strerror(errno));
        return NPG_EXIT_USAGE;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "-o %s: exists and is not a directory", outdir);
        return NPG_EXIT_USAGE;
    }
    if (dir_is_empty(outdir))
        return 0;
    char foreign[300] = "";
    int ours = is_npgrow_result(outdir, foreign, sizeof foreign);
    if (!ours) {
        snprintf(err, errlen,
                 "-o %s: the directory holds files npgrow did not write (%s); npgrow replaces "
                 "only its own result directories, even with --force: choose another directory",
                 outdir, foreign);
        return NPG_EXIT_USAGE;
    }
    if (!force) {
        snprintf(err, errlen,
                 "-o %s: holds an earlier npgrow result (use --force to replace it, or choose "
                 "another directory)",
                 outdir);
        return NPG_EXIT_USAGE;
    }
    return 0;
}

/* Sibling path of outdir with a suffix: "runs/x" + ".lock" -> "runs/x.lock". */
static void sibling(const char *outdir, const char *suffix, char *out, size_t len)
{
    snprintf(out, len, "%s%s", outdir, suffix);
}

static int parent_of(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return snprintf(out, len, "."), 0;
    if (slash == path)
        return snprintf(out, len, "/"), 0;
    snprintf(out, len, "%.*s", (int)(slash - path), path);
    return 0;
}

/* A process id that no longer exists (kill(pid, 0) says ESRCH). */
static int pid_gone(long pid)
{
    return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Parse NAME.tmp-PID (and NAME.old-PID); returns the pid or 0. */
static long tmp_pid(const char *name, char *base, size_t blen)
{
    const char *m = strstr(name, ".tmp-");
    if (!m)
        m = strstr(name, ".old-");
    if (!m)
        return 0;
    char *end;
    long pid = strtol(m + 5, &end, 10);
    if (*end || pid <= 0)
        return 0;
    if (base)
        snprintf(base, blen, "%.*s", (int)(m - name), name);
    return pid;
}

int npg_outdir_find_stale(const char *dir, const char *only_base, npg_outdir_stale_fn fn, void *ctx)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int found = 0;
    while ((de = readdir(d))) {
        char base[1024];
        long pid = tmp_pid(de->d_name, base, sizeof base);
        if (!pid || !pid_gone(pid))
            continue;
        if (only_base && strcmp(base, only_base))
            continue;
        char path[4200];
        int l = !strcmp(dir, ".") ? snprintf(path, sizeof path, "%s", de->d_name)
                                  : snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (l < 0 || l >= (int)sizeof path)
            continue;
        struct stat sb;
        if (lstat(path, &sb) || !S_ISDIR(sb.st_mode))
            continue;
        ++found;
        if (fn)
            fn(path, pid, ctx);
    }
    closedir(d);
    return found;
}

static void warn_stale(const char *path, long pid, void *ctx)
{
    (void)ctx;
    fprintf(stderr,
            "npgrow: warning: %s is left over from npgrow process %ld, which no longer runs "
            "(killed?); it is not a result. Remove such leftovers with `npgrow clean DIR`\n",
            path, pid);
}

/* Take DIR.lock (flock, non-blocking). Returns the fd, or -1 with err set. */
static int take_lock(const char *outdir, char *err, size_t errlen)
{
    char lock[4200];
    sibling(outdir, ".lock", lock, sizeof lock);
    for (int attempt = 0; attempt < 8; ++attempt) {
        int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) {
            snprintf(err, errlen, "-o %s: cannot create the lock %s: %s", outdir, lock,
                     strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB)) {
            char who[32] = "";
            ssize_t r = pread(fd, who, sizeof who - 1, 0);
            who[r > 0 ? r : 0] = '\0';
            who[strcspn(who, "\n")] = '\0';
            close(fd);
            snprintf(err, errlen,
                     "-o %s: another npgrow process%s%s is writing this result right now (lock "
                     "%s): wait for it or choose another directory",
                     outdir, *who ? " (pid " : "", *who ? who : "", lock);
            return -1;
        }
        /* The holder before us may have unlinked the file after we opened it: the lock must be
         * on the file the path names now. */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(lock, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            char pid[32];
            int l = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)l, 0) < 0) {
                /* the pid is only for messages */
            }
            return fd;
        }
        close(fd);
    }
    snprintf(err, errlen, "-o %s: could not take the lock %s.lock", outdir, outdir);
    return -1;
}

static void drop_lock(npg_outdir *od)
{
    if (od->lock_fd >= 0) {
        char lock[4200];
        sibling(od->path, ".lock", lock, sizeof lock);
        unlink(lock); /* while still holding it: a waiting process re-checks the inode */
        close(od->lock_fd);
        od->lock_fd = -1;
    }
}

int npg_outdir_open(npg_outdir *od, const char *outdir_in, int force, char *err, size_t errlen)
{
    memset(od, 0, sizeof *od);
    od->lock_fd = -1;
    int rc = npg_outdir_normalize(outdir_in, od->path, sizeof od->path, err, errlen);
    if (rc)
        return rc;
    /* The parent must exist or be creatable, and be writable, before any work starts. */
    char parent[4096];
    parent_of(od->path, parent, sizeof parent);
    if (mkdir_p(parent)) {
        snprintf(err, errlen, "-o %s: cannot create %s: %s", od->path, parent, strerror(errno));
        return NPG_EXIT_USAGE;
    }
    if (access(parent, W_OK | X_OK)) {
        snprintf(err, errlen, "-o %s: %s is not writable: %s", od->path, parent, strerror(errno));
        return NPG_EXIT_USAGE;
    }
    if ((rc = check_target(od->path, force, err, errlen)))
        return rc;
    od->lock_fd = take_lock(od->path, err, errlen);
    if (od->lock_fd < 0)
        return NPG_EXIT_USAGE;
    /* Under the lock, look again: another process may have finished in between. */
    if ((rc = check_target(od->path, force, err, errlen))) {
        drop_lock(od);
        return rc;
    }
    const char *slash = strrchr(od->path, '/');
    npg_outdir_find_stale(parent, slash ? slash + 1 : od->path, warn_stale, NULL);
    snprintf(od->tmp, sizeof od->tmp, "%s.tmp-%ld", od->path, (long)getpid());
    remove_tree(od->tmp);
    if (mkdir(od->tmp, 0777)) {
        snprintf(err, errlen, "-o %s: cannot create %s: %s", od->path, od->tmp, strerror(errno));
        drop_lock(od);
        return NPG_EXIT_USAGE;
    }
    od->open = 1;
    return 0;
}

int npg_outdir_commit_dir(npg_outdir *od, char *err, size_t errlen)
{
    if (!od->open) {
        snprintf(err, errlen, "result directory not open");
        return 1;
    }
    /* The target may have changed since we looked (a user copying notes in): never replace
     * something that is not ours; keep the new result in the temporary directory then. */
    int rc = check_target(od->path, 1, err, errlen);
    if (rc) {
        size_t l = strlen(err);
        snprintf(err + l, errlen - l, "; the new result is kept in %s", od->tmp);
        drop_lock(od);
        od->open = 0;
        return 1;
    }
    char old[4200];
    snprintf(old, sizeof old, "%s.old-%ld", od->path, (long)getpid());
    int moved = 0;
    struct stat sb;
    if (!lstat(od->path, &sb)) {
        remove_tree(old);
        if (rename(od->path, old)) {
            snprintf(err, errlen,
                     "%s: cannot move the earlier result aside: %s; the new result "
                     "is kept in %s",
                     od->path, strerror(errno), od->tmp);
            drop_lock(od);
            od->open = 0;
            return 1;
        }
        moved = 1;
    }
    if (rename(od->tmp, od->path)) {
        int e = errno;
        if (moved)
            rename(old, od->path);
        snprintf(err, errlen, "rename %s -> %s: %s; the new result is kept in %s", od->tmp,
                 od->path, strerror(e), od->tmp);
        drop_lock(od);
        od->open = 0;
        return 1;
    }
    if (moved)
        remove_tree(old);
    drop_lock(od);
    od->open = 0;
    return 0;
}

void npg_outdir_discard(npg_outdir *od)
{
    if (od->open)
        remove_tree(od->tmp);
    drop_lock(od);
    od->open = 0;
}

static void remove_stale(const char *path, long pid, void *ctx)
{
    int *n = ctx;
    char foreign[300] = "";
    /* Only what npgrow writes (a half-written tmp may lack run.yaml: accept any of its names). */
    DIR *d = opendir(path);
    int ok = d != NULL;
    struct dirent *de;
    while (ok && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
            !in_list(de->d_name, k_result_files) && !in_list(de->d_name, k_result_dirs)) {
            ok = 0;
            snprintf(foreign, sizeof foreign, "%s", de->d_name);
        }
    if (d)
        closedir(d);
    if (!ok) {
        fprintf(stderr, "npgrow clean: kept %s (holds %s, which npgrow did not write)\n", path,
                foreign);
        return;
    }
    if (remove_tree(path)) {
        fprintf(stderr, "npgrow clean: cannot remove %s: %s\n", path, strerror(errno));
        return;
    }
    printf("removed %s (left by npgrow process %ld)\n", path, pid);
    ++*n;
}

int npg_outdir_clean(const char *dir, int *removed)
{
    *removed = 0;
    struct stat sb;
    if (stat(dir, &sb) || !S_ISDIR(sb.st_mode))
        return NPG_EXIT_USAGE;
    npg_outdir_find_stale(dir, NULL, remove_stale, removed);
    return 0;
}

/* ---- path-string interface (one open result directory per process at a time) ----------- */

static npg_outdir g_current = {.lock_fd = -1};

int npg_outdir_begin(const char *outdir, int force, char *tmpdir, size_t tmplen, char *err,
                     size_t errlen)
{
    if (g_current.open) {
        snprintf(err, errlen, "%s: another result directory (%s) is still open", outdir,
                 g_current.path);
        return 1;
    }
    int rc = npg_outdir_open(&g_current, outdir, force, err, errlen);
    if (rc)
        return rc;
    if (snprintf(tmpdir, tmplen, "%s", g_current.tmp) >= (int)tmplen) {
        npg_outdir_discard(&g_current);
        snprintf(err, errlen, "%s: path too long", outdir);
        return NPG_EXIT_USAGE;
    }
    return 0;
}

int npg_outdir_commit(const char *tmpdir, const char *outdir, char *err, size_t errlen)
{
    (void)outdir;
    if (!g_current.open || strcmp(tmpdir, g_current.tmp)) {
        snprintf(err, errlen, "%s: not the open result directory", tmpdir);
        return 1;
    }
    return npg_outdir_commit_dir(&g_current, err, errlen);
}

void npg_outdir_abandon(const char *tmpdir)
{
    if (g_current.open && !strcmp(tmpdir, g_current.tmp))
        npg_outdir_discard(&g_current);
    else
        remove_tree(tmpdir);
}
