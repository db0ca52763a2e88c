// tests/support/systems.h: the Table-1 parameter sets of model.md 1.8 that tests build models
// from by hand (no YAML), one definition for every test file.
#ifndef NPGROW_TESTS_SUPPORT_SYSTEMS_H
#define NPGROW_TESTS_SUPPORT_SYSTEMS_H

#include "npgrow/model.h"

// Pt from Pt(acac)2 in situ; sigma_s = 265.077^(-1/3) nm (model.md 1.7).
inline npg_model pt_acac()
{
    return npg_model{3.04, -1.35, 6.50, 1.40, 0.171, 0.155672, 1.76};
}

// Au in situ; sigma_s from rho = 59.0088 nm^-3.
inline npg_model au()
{
    return npg_model{5.45, -4.06, 8.72, 2.43, 0.424, 0.159342, 1.70};
}

#endif // NPGROW_TESTS_SUPPORT_SYSTEMS_H
