// test_coal_run_h5.cpp: run.h5 of a run with a particle source, read back with the HDF5 C API.
//
// Exact identities only (no statistics): without monomer exchange the monomers in the ensemble
// are the initial ones plus those the entries bring, and every alive particle, initial or
// entered, appears in the full-ensemble snapshot.
#include <gtest/gtest.h>

#include <hdf5.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "npgrow/config.h"
#include "npgrow/run.h"

// 100 particles of 50 monomers, 30 entries of 70 at t = 0.5 (entries_file), constant kernel,
// no monomer exchange; one snapshot at t_end. The snapshot must span all 130 slots: its nonzero
// entries are the alive particles and hold 100 x 50 + 30 x 70 = 7100 monomers (before: only
// the 100 initial ids were written, and every entered particle was missing).
TEST(CoalRunH5, SnapshotHoldsEnteredParticles)
{
    char t[] = "/tmp/npg_coalh5_XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    const std::string dir = t;
    FILE *f = std::fopen((dir + "/entries.csv").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f, "t,n\n");
    for (int k = 0; k < 30; ++k)
        std::fprintf(f, "0.5,70\n");
    std::fclose(f);
    f = std::fopen((dir + "/c.yaml").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f, "system: {preset: pt-acac}\n"
                    "supply: {mode: schedule, supersaturation: [[0, 1.0]], "
                    "monomer_exchange: false}\n"
                    "initial: {kind: monodisperse, n: 50}\n"
                    "run: {particles: 100, t_end: 1, output_every: 0.5, seed: 4}\n"
                    "output: {trajectories: 0}\n"
                    "coalescence: {mode: well-mixed, kernel: constant, "
                    "k_const_nm3_per_s: 2.0e4, volume_nm3: 1.0e6}\n"
                    "source: {entries_file: entries.csv}\n");
    std::fclose(f);
    npg_config cfg;
    char err[2048] = "";
    ASSERT_EQ(npg_config_load((dir + "/c.yaml").c_str(), &cfg, err, sizeof err), 0) << err;
    npg_run_options o{};
    const std::string out = dir + "/out";
    o.outdir = out.c_str();
    o.quiet = 1;
    o.ens.backend = "cpu";
    o.ens.threads = 1;
    npg_run_summary sum{};
    ASSERT_EQ(npg_run(&cfg, &o, &sum, err, sizeof err), 0) << err;
    npg_config_free(&cfg);
    EXPECT_EQ(sum.entries, 30u);
    EXPECT_GT(sum.merges, 5u); // the run merged (~40 % of the pairs' rate over 1 time unit)

    hid_t file = H5Fopen((out + "/run.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    hid_t d = H5Dopen2(file, "/particles/ensemble/n_monomers/value", H5P_DEFAULT);
    ASSERT_GE(d, 0);
    hid_t s = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    ASSERT_EQ(H5Sget_simple_extent_ndims(s), 2);
    H5Sget_simple_extent_dims(s, dims, nullptr);
    std::vector<uint32_t> v(dims[0] * dims[1]);
    ASSERT_GE(H5Dread(d, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(file);
    EXPECT_EQ(dims[0], 1u);   // one snapshot: t_end
    EXPECT_EQ(dims[1], 130u); // every slot
    uint64_t alive = 0, mass = 0;
    for (uint64_t i = v.size() - dims[1]; i < v.size(); ++i) {
        alive += v[i] != 0;
        mass += v[i];
    }
    EXPECT_EQ((double)alive, sum.alive);
    EXPECT_EQ(mass, 7100u);
    std::system(("rm -rf '" + dir + "'").c_str());
}
