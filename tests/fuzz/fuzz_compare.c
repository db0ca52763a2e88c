/* fuzz_compare.c: a libFuzzer target over the result-directory reader of `npgrow compare`
 * (npg_result_load, host/stats/compare.c) and the statistics behind it.
 *
 * Framing: the input is split at the byte 0x1E (ASCII record separator) into run.yaml,
 * moments.csv and histogram.csv, written into a private temporary directory; missing parts
 * leave the file absent. A directory that loads is compared with itself (npg_compare, the table
 * printer, the CSV writer) to reach the statistics with whatever the reader let through; no
 * verdict is asserted. Everything loaded is freed (LeakSanitizer). Built with clang
 * -fsanitize=fuzzer by scripts/fuzz.sh, and with replay_main.c for ctest; see tests/fuzz/README.md.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npgrow/compare.h"

#define NPG_FUZZ_SEP 0x1E

static const char *const k_files[] = {"run.yaml", "moments.csv", "histogram.csv"};
static char g_dir[256], g_csv[320];
static FILE *g_null;

static void file_path(char *p, size_t len, int i)
{
    snprintf(p, len, "%s/%s", g_dir, k_files[i]);
}

static void cleanup(void)
{
    char p[320];
    for (int i = 0; i < 3; ++i) {
        file_path(p, sizeof p, i);
        unlink(p);
    }
    unlink(g_csv);
    rmdir(g_dir);
    if (g_null)
        fclose(g_null);
}

static void setup_once(void)
{
    if (g_dir[0])
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/npgrow-fuzz-compare-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("fuzz_compare: mkdtemp");
        abort();
    }
    snprintf(g_csv, sizeof g_csv, "%s/compare.csv", g_dir);
    g_null = fopen("/dev/null", "w");
    if (!g_null) {
        perror("/dev/null");
        abort();
    }
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    size_t at = 0;
    for (int i = 0; i < 3; ++i) {
        char p[320];
        file_path(p, sizeof p, i);
        unlink(p);
        if (at > size)
            continue; /* fewer parts than files: this one stays absent */
        const uint8_t *end = memchr(data + at, NPG_FUZZ_SEP, size - at);
        size_t n = end ? (size_t)(end - (data + at)) : size - at;
        FILE *f = fopen(p, "wb");
        if (!f || (n && fwrite(data + at, 1, n, f) != n) || fclose(f)) {
            perror(p);
            abort();
        }
        at = end ? at + n + 1 : size + 1;
    }

    npg_result r;
    char err[2048];
    if (npg_result_load(g_dir, &r, err, sizeof err) == 0) {
        npg_compare_options o = {3.0, 5.0, 0.001, 1e-6, 0};
        npg_compare_result c;
        memset(&c, 0, sizeof c);
        if (npg_compare(&r, &r, &o, &c, err, sizeof err) == 0) {
            npg_compare_print(g_null, &r, &r, &o, &c);
            npg_compare_write_csv(&c, g_csv, err, sizeof err);
        }
        npg_compare_result_free(&c);
    }
    npg_result_free(&r);
    return 0;
}
