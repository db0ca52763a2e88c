// test_smoke.cpp: the shared headers compile as C++ and agree with a hand-checked value.
#include <gtest/gtest.h>

#include "npgrow/model.h"

TEST(Smoke, CuboctahedralEdgeParameter)
{
    // delta = 1, n = 55 is the cuboctahedral number at s = 4 (model.md 1.2).
    EXPECT_NEAR(npg_model_edge_s(55.0, 1.0), 4.0, 1e-12);
}
