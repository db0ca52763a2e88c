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
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "npgrow/outdir.h"
#include "npgrow/status.h"

/* The lock beside DIR: a name of npgrow's own, so it cannot be a user's file (yarn.lock). */
#define LOCK_SUFFIX ".npgrow-lock"
/* Marker inside DIR.tmp-PID: only directories carrying it are npgrow's to clean up. */
#define TMP_MARKER ".npgrow-tmp"

/* Top-level names npgrow writes into a result directory (any command). A directory holding
 * anything else is not npgrow's to replace. */
static const char *const k_result_files[] = {
    "run.yaml",       "moments.csv",   "histogram.csv",   "growth_rate.csv", "trajectories.csv",
    "run.h5",         "compare.csv",   "coalescence.csv", "moments_ci.csv",  "pair.csv",
    "prediction.csv", "schedule.yaml", "summary.csv",     TMP_MARKER,        NULL};
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

static int has_suffix(const char *name, const char *suf)
{
    size_t l = strlen(name), k = strlen(suf);
    return l > k && !strcmp(name + l - k, suf);
}

/* figures/: only regular files npgrow plot writes (images and their CSVs). */
static int is_figures_dir(const char *dir, char *foreign, size_t flen)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int ok = 1;
    while (ok && (de = readdir(d))) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        char path[4200];
        struct stat sb;
        ok = snprintf(path, sizeof path, "%s/%s", dir, n) < (int)sizeof path && !lstat(path, &sb) &&
             S_ISREG(sb.st_mode) &&
             (has_suffix(n, ".png") || has_suffix(n, ".pdf") || has_suffix(n, ".svg") ||
              has_suffix(n, ".csv"));
        if (!ok)
            snprintf(foreign, flen, "figures/%s", n);
    }
    closedir(d);
    return ok;
}

/* 1 if dir is an npgrow result (run.yaml starting "# npgrow", only npgrow's names; figures/
 * holding only figures; validate's run/ and me/ npgrow results themselves), 0 if it holds
 * anything else; *foreign gets the first foreign name. depth limits the recursion. */
static int is_npgrow_result_depth(const char *dir, char *foreign, size_t flen, int depth)
{
    char path[4200];
    if (snprintf(path, sizeof path, "%s/run.yaml", dir) >= (int)sizeof path)
        return 0;
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
    int ok = 1, has_sub = 0;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        struct stat sb;
        char sub[300] = "";
        if (snprintf(path, sizeof path, "%s/%s", dir, n) >= (int)sizeof path || lstat(path, &sb)) {
            ok = 0;
        } else if (S_ISREG(sb.st_mode)) {
            ok = in_list(n, k_result_files);
        } else if (S_ISDIR(sb.st_mode) && !strcmp(n, "figures")) {
            ok = is_figures_dir(path, sub, sizeof sub);
        } else if (S_ISDIR(sb.st_mode) && in_list(n, k_result_dirs) && depth > 0) {
            ok = is_npgrow_result_depth(path, sub, sizeof sub, depth - 1);
            has_sub = 1;
            if (!ok && *sub)
                snprintf(sub + strlen(sub), sizeof sub - strlen(sub), " in %s/", n);
        } else {
            ok = 0;
        }
        if (!ok) {
            snprintf(foreign, flen, "%s", *sub ? sub : n);
            break;
        }
    }
    closedir(d);
    /* validate's directory (run/, me/, compare.csv) has no run.yaml of its own */
    if (ok && !marked && !has_sub)
        snprintf(foreign, flen, "run.yaml (missing, or not written by npgrow)");
    return ok && (marked || has_sub);
}

static int is_npgrow_result(const char *dir, char *foreign, size_t flen)
{
    return is_npgrow_result_depth(dir, foreign, flen, 1);
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

static int parent_of(const char *path, char *out, size_t len);

/* May `outdir` (normalized) be written, replacing what is there under `force`? */
static int check_target(const char *outdir, int force, char *err, size_t errlen)
{
    if (outdir[0] == '~') {
        snprintf(err, errlen,
                 "-o %s: a leading '~' is not expanded by npgrow (the shell did not expand it "
                 "either); write the path out",
                 outdir);
        return NPG_EXIT_USAGE;
    }
    struct stat lsb;
    if (!lstat(outdir, &lsb) && S_ISLNK(lsb.st_mode)) {
        snprintf(err, errlen,
                 "-o %s: is a symbolic link; npgrow would replace the link, not what it points "
                 "to: name the real directory",
                 outdir);
        return NPG_EXIT_USAGE;
    }
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
    char parent[4096];
    struct stat psb;
    parent_of(outdir, parent, sizeof parent);
    if (!stat(parent, &psb) && psb.st_dev != sb.st_dev) {
        snprintf(err, errlen,
                 "-o %s: is a mount point (another file system than %s); npgrow cannot rename "
                 "a result onto it: name a subdirectory",
                 outdir, parent);
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

/* Parse NAME.tmp-PID (or NAME.tmp-PID-K); returns the pid or 0. */
static long tmp_pid(const char *name, char *base, size_t blen)
{
    const char *m = strstr(name, ".tmp-");
    if (!m)
        return 0;
    char *end;
    long pid = strtol(m + 5, &end, 10);
    if (*end == '-') /* NAME.tmp-PID-K */
        strtol(end + 1, &end, 10);
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
        /* npgrow's own temporary directory (its marker inside), and no live writer: the pid
         * test alone is wrong across pid namespaces and hosts, the lock is not */
        char marker[4300], lock[5400];
        snprintf(marker, sizeof marker, "%s/" TMP_MARKER, path);
        if (lstat(marker, &sb) || !S_ISREG(sb.st_mode))
            continue;
        int l2 = !strcmp(dir, ".") ? snprintf(lock, sizeof lock, "%s" LOCK_SUFFIX, base)
                                   : snprintf(lock, sizeof lock, "%s/%s" LOCK_SUFFIX, dir, base);
        if (!only_base && l2 > 0 && l2 < (int)sizeof lock) { /* open() holds it itself */
            int fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0) {
                int busy = flock(fd, LOCK_EX | LOCK_NB) != 0;
                close(fd);
                if (busy)
                    continue;
            }
        }
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

/* Open an existing lock file without following links; it must be a regular file holding at
 * most a pid. Returns the fd, -1 when absent, -2 when it is something else (err set). */
static int open_existing_lock(const char *lock, char *err, size_t errlen)
{
    int fd = open(lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return -1;
        snprintf(err, errlen, "%s: cannot open (%s): not an npgrow lock; remove or rename it", lock,
                 strerror(errno));
        return -2;
    }
    struct stat sb;
    char buf[32] = "";
    ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
    buf[r > 0 ? r : 0] = '\0';
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > 24 ||
        strspn(buf, "0123456789\n") != strlen(buf)) {
        close(fd);
        snprintf(err, errlen, "%s: exists and is not an npgrow lock; remove or rename it", lock);
        return -2;
    }
    return fd;
}

/* Take DIR.npgrow-lock (flock, non-blocking). Returns the fd, or -1 with err set. */
static int take_lock(const char *outdir, char *err, size_t errlen)
{
    char lock[4200];
    sibling(outdir, LOCK_SUFFIX, lock, sizeof lock);
    for (int attempt = 0; attempt < 8; ++attempt) {
        int fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST) {
            fd = open_existing_lock(lock, err, errlen);
            if (fd == -1)
                continue; /* removed in between: create it again */
            if (fd == -2)
                return -1;
        } else if (fd < 0) {
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
                     "-o %s: another npgrow process%s%s%s is writing this result right now (lock "
                     "%s): wait for it or choose another directory",
                     outdir, *who ? " (pid " : "", *who ? who : "", *who ? ")" : "", lock);
            return -1;
        }
        /* The holder before us may have unlinked the file after we opened it: the lock must be
         * on the file the path names now. */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && lstat(lock, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            char pid[32];
            int l = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
            if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)l, 0) < 0) {
                /* the pid is only for messages (the file is ours: created or a pid only) */
            }
            return fd;
        }
        close(fd);
    }
    snprintf(err, errlen, "-o %s: could not take the lock %s%s", outdir, outdir, LOCK_SUFFIX);
    return -1;
}

static void drop_lock(npg_outdir *od)
{
    if (od->lock_fd >= 0) {
        char lock[4200];
        sibling(od->locked, LOCK_SUFFIX, lock, sizeof lock);
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
    od->force = force;
    /* Checks first (nothing is created for a refused target), then the parent must exist or
     * be creatable, and be writable, before any work starts. */
    if ((rc = check_target(od->path, force, err, errlen)))
        return rc;
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
    snprintf(od->locked, sizeof od->locked, "%s", od->path);
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
    /* A fresh name: never remove something that is already there. */
    for (int k = 0;; ++k) {
        if (k == 0)
            snprintf(od->tmp, sizeof od->tmp, "%s.tmp-%ld", od->path, (long)getpid());
        else
            snprintf(od->tmp, sizeof od->tmp, "%s.tmp-%ld-%d", od->path, (long)getpid(), k);
        if (!mkdir(od->tmp, 0777))
            break;
        if (errno != EEXIST || k == 100) {
            snprintf(err, errlen, "-o %s: cannot create %s: %s", od->path, od->tmp,
                     strerror(errno));
            drop_lock(od);
            return NPG_EXIT_USAGE;
        }
    }
    char marker[3200];
    snprintf(marker, sizeof marker, "%s/" TMP_MARKER, od->tmp);
    FILE *m = fopen(marker, "w");
    if (m) {
        fprintf(m, "npgrow result being written by pid %ld into %s\n", (long)getpid(), od->path);
        fclose(m);
    }
    od->open = 1;
    return 0;
}

/* rename(2) that swaps (exchange = 1) or refuses to replace (exchange = 0) atomically, where the
 * kernel and file system offer renameat2; 1 with errno EINVAL/ENOSYS where they do not. */
static int rename_atomic(const char *from, const char *to, int exchange)
{
#ifdef SYS_renameat2
    long r = syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to,
                     exchange ? 2u /* RENAME_EXCHANGE */ : 1u /* RENAME_NOREPLACE */);
    return r ? 1 : 0;
#else
    (void)from;
    (void)to;
    (void)exchange;
    errno = ENOSYS;
    return 1;
#endif
}

int npg_outdir_commit_dir(npg_outdir *od, char *err, size_t errlen)
{
    if (!od->open) {
        snprintf(err, errlen, "result directory not open");
        return 1;
    }
    /* The target may have changed since we looked (a user copying notes in): never replace
     * something that is not ours; keep the new result in the temporary directory then. */
    int rc = check_target(od->path, od->force, err, errlen);
    if (rc) {
        size_t l = strlen(err);
        snprintf(err + l, errlen - l, "; the new result is kept in %s", od->tmp);
        drop_lock(od);
        od->open = 0;
        return 1;
    }
    char marker[3200];
    snprintf(marker, sizeof marker, "%s/" TMP_MARKER, od->tmp);
    unlink(marker);
    /* No signal between the renames: a second Ctrl-C must not leave DIR missing. */
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &saved);
    struct stat sb;
    int exists = !lstat(od->path, &sb);
    int done = 0;
    char old[4200] = "";
    if (exists) {
        /* Swap the new result in and the earlier one out in one step, then remove it. */
        if (!rename_atomic(od->tmp, od->path, 1)) {
            remove_tree(od->tmp);
            done = 1;
        } else if (errno != EINVAL && errno != ENOSYS) {
            rc = errno;
        }
    } else if (!rename_atomic(od->tmp, od->path, 0)) {
        done = 1;
    } else if (errno != EINVAL && errno != ENOSYS) {
        rc = errno;
    }
    if (!done && !rc) {
        /* No renameat2 here: move the earlier result aside, the new one in, then remove. */
        int moved = 0;
        snprintf(old, sizeof old, "%s.old-%ld", od->path, (long)getpid());
        if (exists && !rename(od->path, old))
            moved = 1;
        else if (exists)
            rc = errno;
        if (!rc && rename(od->tmp, od->path)) {
            rc = errno;
            if (moved)
                rename(old, od->path);
        } else if (!rc && moved) {
            remove_tree(old);
        }
    }
    sigprocmask(SIG_SETMASK, &saved, NULL);
    if (rc) {
        FILE *m = fopen(marker, "w"); /* still npgrow's: `npgrow clean` may remove it */
        if (m)
            fclose(m);
        snprintf(err, errlen, "rename %s -> %s: %s; the new result is kept in %s", od->tmp,
                 od->path, strerror(rc), od->tmp);
        drop_lock(od);
        od->open = 0;
        return 1;
    }
    drop_lock(od);
    od->open = 0;
    return 0;
}

int npg_outdir_commit_stopped(npg_outdir *od, char *err, size_t errlen)
{
    /* An earlier result is never replaced by a stopped one (a Ctrl-C a second after a --force
     * start would cost a complete result): the stopped one goes beside it, DIR.interrupted. */
    struct stat sb;
    if (od->open && !lstat(od->path, &sb) && !dir_is_empty(od->path)) {
        char alt[3072];
        if (snprintf(alt, sizeof alt, "%s.interrupted", od->path) >= (int)sizeof alt) {
            snprintf(err, errlen, "%s: path too long; the stopped result is kept in %s", od->path,
                     od->tmp);
            drop_lock(od);
            od->open = 0;
            return 1;
        }
        snprintf(od->path, sizeof od->path, "%s", alt);
        od->force = 1; /* an earlier DIR.interrupted of npgrow's may go; anything else stays */
    }
    return npg_outdir_commit_dir(od, err, errlen);
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

int npg_outdir_check_container(const char *dir_in, int force, char *out, size_t outlen, char *err,
                               size_t errlen)
{
    int rc = npg_outdir_normalize(dir_in, out, outlen, err, errlen);
    if (rc)
        return rc;
    if (strlen(out) > 2900) {
        snprintf(err, errlen, "-o: path too long (at most 2900 characters)");
        return NPG_EXIT_USAGE;
    }
    return check_target(out, force, err, errlen);
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

int npg_outdir_commit_stopped_tmp(const char *tmpdir, char *err, size_t errlen)
{
    if (!g_current.open || strcmp(tmpdir, g_current.tmp)) {
        snprintf(err, errlen, "%s: not the open result directory", tmpdir);
        return 1;
    }
    char want[3072];
    snprintf(want, sizeof want, "%s", g_current.path);
    int rc = npg_outdir_commit_stopped(&g_current, err, errlen);
    if (!rc && strcmp(want, g_current.path))
        fprintf(stderr,
                "npgrow: stopped: %s holds an earlier result, which is kept; the stopped one is "
                "in %s\n",
                want, g_current.path);
    return rc;
}

void npg_outdir_abandon(const char *tmpdir)
{
    if (g_current.open && !strcmp(tmpdir, g_current.tmp))
        npg_outdir_discard(&g_current);
    else
        remove_tree(tmpdir);
}
