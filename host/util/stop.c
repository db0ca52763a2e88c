/* stop.c: the stop request. SIGINT and SIGTERM set one flag that every long loop polls; the
 * handler does nothing else (async-signal-safe). A second signal of the same kind gets the
 * default action, so a stuck process can still be killed with a second Ctrl-C. This file does
 * not decide what "stopping" writes: each command does (status: interrupted). */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <string.h>

#include "npgrow/status.h"

static volatile sig_atomic_t g_stop_signal = 0;
static struct sigaction g_old_int, g_old_term;
static int g_installed = 0;

static void on_stop_signal(int sig)
{
    if (g_stop_signal == sig) {
        /* second request of the same kind: default action (terminate) */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    g_stop_signal = sig;
}

void npg_stop_install(void)
{
    g_stop_signal = 0;
    if (g_installed)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR and loops look at the flag */
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
    g_installed = 1;
}

void npg_stop_restore(void)
{
    if (!g_installed)
        return;
    sigaction(SIGINT, &g_old_int, NULL);
    sigaction(SIGTERM, &g_old_term, NULL);
    g_installed = 0;
}

int npg_stop_requested(void)
{
    return (int)g_stop_signal;
}

int npg_stop_exit_code(void)
{
    int s = (int)g_stop_signal;
    return s ? 128 + s : 0;
}

void npg_stop_raise(int sig)
{
    g_stop_signal = sig;
}

void npg_stop_clear(void)
{
    g_stop_signal = 0;
}
