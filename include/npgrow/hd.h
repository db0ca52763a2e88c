/* npgrow/hd.h: the one host/device qualifier and the typed math wrappers.
 *
 * Every shared physics header includes this and nothing else from the platform, so the same
 * function compiles as C11 (host, CPU backend) and as CUDA C++ (kernels). It deliberately has
 * no allocation, no I/O and no globals: those cannot cross the host/device boundary.
 */
#ifndef NPGROW_HD_H
#define NPGROW_HD_H

#include <math.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define NPG_HD __host__ __device__
#else
#define NPG_HD
#endif

/* For a rarely taken path called from a hot loop (the exact rates beyond the table): kept out
 * of line so that it does not crowd the loop's registers. */
#if defined(__CUDA_ARCH__)
#define NPG_COLD __noinline__
#elif defined(__GNUC__)
#define NPG_COLD __attribute__((noinline, cold, unused))
#else
#define NPG_COLD
#endif

/* Double precision everywhere in the physics: sizes reach 1e5 monomers and n^10 reaches 1e50,
 * and the CPU and GPU backends must agree to rounding so that trajectories coincide. */
static inline NPG_HD double npg_log(double x)
{
    return log(x);
}
static inline NPG_HD double npg_log1p(double x)
{
    return log1p(x);
}
static inline NPG_HD double npg_exp(double x)
{
    return exp(x);
}
static inline NPG_HD double npg_pow(double x, double y)
{
    return pow(x, y);
}
static inline NPG_HD double npg_cbrt(double x)
{
    return cbrt(x);
}
static inline NPG_HD double npg_sqrt(double x)
{
    return sqrt(x);
}
static inline NPG_HD double npg_fabs(double x)
{
    return fabs(x);
}
static inline NPG_HD double npg_log2(double x)
{
    return log2(x);
}
static inline NPG_HD double npg_expm1(double x)
{
    return expm1(x);
}
static inline NPG_HD double npg_exp2(double x)
{
    return exp2(x);
}
static inline NPG_HD double npg_floor(double x)
{
    return floor(x);
}
static inline NPG_HD double npg_cos(double x)
{
    return cos(x);
}
static inline NPG_HD double npg_fmax(double a, double b)
{
    return a > b ? a : b;
}
static inline NPG_HD double npg_fmin(double a, double b)
{
    return a < b ? a : b;
}

#define NPG_PI 3.14159265358979323846

#endif /* NPGROW_HD_H */
